/* A piece of Python shared by the python launcher (launcher.c) and the
 * python session driver (driver.c), both run as python3 -c so that their own
 * code's file is '<string>'. */
#ifndef ISOL8_ENGINE_PYTHON_TRACEBACK_H
#define ISOL8_ENGINE_PYTHON_TRACEBACK_H

/* A local function, at the indent of the program's outer function body:
 * trimmed_traceback(e) drops the program's own frames from the front of e's
 * traceback, sets what is left as e's and returns it, so that printing it
 * shows the frames of the code run alone, as a fresh interpreter would. */
#define ISOL8_PYTHON_TRIMMED_TRACEBACK                                                  \
	" def trimmed_traceback(e):\n"                                                  \
	"  tb = e.__traceback__\n"                                                      \
	"  while tb is not None and tb.tb_frame.f_code.co_filename == '<string>':\n"    \
	"   tb = tb.tb_next\n"                                                          \
	"  e.__traceback__ = tb\n"                                                      \
	"  return tb\n"

#endif
