# Agent protocol framing (server/agent/frame.c, frame_reader.c).
isol8_unit_test(frame SOURCES test_frame.c LIBS isol8_frame)
