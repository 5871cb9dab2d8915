# Writes the seccomp profile IN as a NUL-terminated C char array named NAME
# into OUT. Run at build time: cmake -DIN=... -DOUT=... -DNAME=... -P embed.cmake
file(READ "${IN}" hex HEX)
# 16 bytes (32 hex digits) per line, then each byte as 0xNN,
string(REPEAT "[0-9a-f]" 32 line_re)
string(REGEX REPLACE "(${line_re})" "\\1\n\t" hex "${hex}")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}.tmp"
     "/* Generated from ${IN} by embed.cmake; do not edit. */\n"
     "#include \"docker/seccomp.h\"\n\n"
     "const char ${NAME}[] = {\n\t${bytes}0x00\n};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
