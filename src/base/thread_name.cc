#include "base/thread_name.h"

#include <pthread.h>

#include <string>

namespace sluice {

void name_current_thread(std::string_view role, int index) {
  std::string name = "sluice-";
  name += role;
  if (index >= 0) name += std::to_string(index);
  if (name.size() > 15) name.resize(15);  // the kernel's TASK_COMM_LEN is 16 with the NUL
  pthread_setname_np(pthread_self(), name.c_str());
}

}  // namespace sluice
