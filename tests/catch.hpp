// One include for Catch2 v2 (Debian 12's package) and v3 (the wrap).
#pragma once
#ifdef GOTIT_CATCH3
#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
using Catch::Approx;
#else
#include <catch2/catch.hpp>
#endif
