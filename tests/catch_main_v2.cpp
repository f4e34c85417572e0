// Catch2 v2 needs one translation unit to define main; v3 links catch2-with-main.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
