#pragma once

#include <string_view>
#include <vector>

namespace routemq::detail {

/// One file of a new application, its path relative to the application's root. `@APP@` in
/// the text stands for the application's name.
struct template_file {
    std::string_view path;
    std::string_view text;
};

/// The files `routemq new app` writes before its first controller and route file: the build
/// (CMakeLists.txt, Makefile), main.cpp, routers/routes.*, tests, Dockerfile, .clang-format,
/// .env.example (core/src/scaffold/app_template/, compiled in).
const std::vector<template_file>& app_template();

}  // namespace routemq::detail
