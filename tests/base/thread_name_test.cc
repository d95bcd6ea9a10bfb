#include "base/thread_name.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <string>
#include <thread>

namespace sluice {
namespace {

// The name the kernel holds for the calling thread.
std::string own_name() {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof name);
  return name;
}

std::string name_in_new_thread(std::string_view role, int index) {
  std::string seen;
  std::thread thread([&] {
    name_current_thread(role, index);
    seen = own_name();
  });
  thread.join();
  return seen;
}

TEST(ThreadName, RoleAndIndex) {
  EXPECT_EQ(name_in_new_thread("net", 0), "sluice-net0");
  EXPECT_EQ(name_in_new_thread("fetch", 12), "sluice-fetch12");
}

TEST(ThreadName, NoIndex) { EXPECT_EQ(name_in_new_thread("watchdog", -1), "sluice-watchdog"); }

TEST(ThreadName, CutToTheKernelsFifteenCharacters) {
  // Longer than 15: pthread_setname_np would refuse it (ERANGE) and leave the old name.
  EXPECT_EQ(name_in_new_thread("cleaner-long-role", 3), "sluice-cleaner-");
}

}  // namespace
}  // namespace sluice
