/* The one way the unit suites run: a table of tests as a CUnit suite. */
#ifndef ISOL8_TEST_RUNNER_H
#define ISOL8_TEST_RUNNER_H

#include <CUnit/Basic.h>
#include <stddef.h>

struct isol8_test {
	const char *name;
	CU_TestFunc fn;
};

#define ISOL8_TESTS_LEN(t) (sizeof(t) / sizeof((t)[0]))

/* Runs the tests verbosely as one suite (init and cleanup may be NULL);
 * returns the process exit status: 0 when every test and the suite set-up
 * passed. */
static inline int isol8_test_run(const char *suite_name, CU_InitializeFunc init, CU_CleanupFunc cleanup,
				 const struct isol8_test *tests, size_t n)
{
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite(suite_name, init, cleanup);
	for (size_t i = 0; suite != NULL && i < n; i++)
		CU_add_test(suite, tests[i].name, tests[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() + CU_get_number_of_suites_failed();
	if (suite == NULL)
		failed++;
	CU_cleanup_registry();
	return failed == 0 ? 0 : 1;
}

#endif
