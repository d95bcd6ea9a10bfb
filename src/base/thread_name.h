// Names the calling thread "sluice-<role><index>" (or "sluice-<role>" for index < 0), cut to the
// 15 characters Linux keeps, so `top -H`, `ps -L`, perf and /proc/<pid>/task/*/comm tell the
// broker's threads apart. Best effort: a failure leaves the inherited name.
#pragma once

#include <string_view>

namespace sluice {

void name_current_thread(std::string_view role, int index = -1);

}  // namespace sluice
