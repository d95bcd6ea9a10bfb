// TuneHost: reads and writes the host's kernel files under a root directory (see tune.h).
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tools/tune.h"

namespace sluice::tools {

TuneHost::TuneHost(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  if (root_.empty()) root_ = "/";
}

std::string TuneHost::real_path(const std::string& path) const {
  SLUICE_ASSERT(!path.empty() && path[0] == '/', "host paths are absolute: '%s'", path.c_str());
  return root_ == "/" ? path : root_ + path;
}

std::optional<std::string> TuneHost::read(const std::string& path) const {
  std::ifstream in(real_path(path));
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  std::string value = text.str();
  while (!value.empty() && (value.back() == '\n' || value.back() == ' ')) value.pop_back();
  return value;
}

std::vector<std::string> TuneHost::list(const std::string& path) const {
  std::vector<std::string> names;
  DIR* dir = ::opendir(real_path(path).c_str());
  if (dir == nullptr) return names;
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

Status TuneHost::write(const std::string& path, const std::string& value) const {
  // O_TRUNC and no O_CREAT: kernel files exist, and a missing one must not become a plain file.
  int fd = ::open(real_path(path).c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return Status::from_errno(errno, "open " + real_path(path));
  std::string line = value + "\n";
  ssize_t written = ::write(fd, line.data(), line.size());
  int saved = errno;
  ::close(fd);
  if (written < 0) return Status::from_errno(saved, "write " + real_path(path));
  if (static_cast<std::size_t>(written) != line.size()) return Status::error("short write to " + real_path(path));
  return Status::ok();
}

Status TuneHost::write_file(const std::string& path, const std::string& contents) const {
  std::filesystem::path target = real_path(path);
  std::error_code error;
  std::filesystem::create_directories(target.parent_path(), error);
  if (error) return Status::from_errno(error.value(), "create " + target.parent_path().string());
  std::filesystem::path temporary = target;
  temporary += ".sluice-tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    if (!out) return Status::from_errno(errno ? errno : EIO, "create " + temporary.string());
    out << contents;
    out.flush();
    if (!out) return Status::from_errno(errno ? errno : EIO, "write " + temporary.string());
  }
  std::filesystem::rename(temporary, target, error);
  if (error) return Status::from_errno(error.value(), "rename to " + target.string());
  return Status::ok();
}

std::string format_cpu_set(std::vector<int> cpus) {
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  std::string text;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!text.empty()) text += ',';
    text += std::to_string(cpus[i]);
    if (j > i) text += '-' + std::to_string(cpus[j]);
    i = j + 1;
  }
  return text;
}

}  // namespace sluice::tools
