#include "metrics/shared_metrics.hpp"

#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "routemq/errors.hpp"

namespace routemq::detail {
namespace {

constexpr std::uint64_t kMagic = 0x524d514d45545232;  // "RMQMETR2": bump with any layout change

struct layout_header {
    std::uint64_t magic;
    std::uint64_t processes;
    std::uint64_t routes;
};

constexpr std::size_t kManagerOffset = sizeof(layout_header);
constexpr std::size_t kProcessesOffset = kManagerOffset + sizeof(manager_cells);

std::size_t process_stride(std::size_t routes) {
    return sizeof(process_cells) + routes * sizeof(route_cells);
}

std::size_t region_size(std::size_t processes, std::size_t routes) {
    return kProcessesOffset + processes * process_stride(routes);
}

[[noreturn]] void fail(const char* what) {
    throw error(fmt::format("shared metrics: {}: {}", what, std::strerror(errno)));
}

void* map(int fd, std::size_t size) {
    void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        fail("mmap");
    }
    return base;
}

}  // namespace

shared_metrics::shared_metrics(int fd, void* base, std::size_t size, std::size_t processes,
                               std::size_t routes)
    : fd_(fd), base_(base), size_(size), processes_(processes), routes_(routes) {}

shared_metrics::~shared_metrics() {
    munmap(base_, size_);
    close(fd_);
}

std::shared_ptr<shared_metrics> shared_metrics::create(std::size_t processes, std::size_t routes) {
    const int fd = memfd_create("routemq-metrics", MFD_CLOEXEC);
    if (fd < 0) {
        fail("memfd_create");
    }
    const auto size = region_size(processes, routes);
    if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
        close(fd);
        fail("ftruncate");
    }
    void* base = nullptr;
    try {
        base = map(fd, size);
    } catch (...) {
        close(fd);
        throw;
    }
    auto* bytes = static_cast<std::byte*>(base);
    new (bytes) layout_header{kMagic, processes, routes};
    new (bytes + kManagerOffset) manager_cells{};
    for (std::size_t p = 0; p < processes; ++p) {
        auto* block = bytes + kProcessesOffset + p * process_stride(routes);
        new (block) process_cells{};
        for (std::size_t r = 0; r < routes; ++r) {
            new (block + sizeof(process_cells) + r * sizeof(route_cells)) route_cells{};
        }
    }
    return std::shared_ptr<shared_metrics>(new shared_metrics(fd, base, size, processes, routes));
}

std::shared_ptr<shared_metrics> shared_metrics::attach(int fd, std::size_t processes,
                                                       std::size_t routes) {
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        fail("fstat of the inherited descriptor");
    }
    const auto size = region_size(processes, routes);
    if (static_cast<std::size_t>(st.st_size) != size) {
        throw error(fmt::format(
            "shared metrics: descriptor {} holds {} bytes, expected {} for {} processes and {} "
            "routes (is the manager running the same executable?)",
            fd, st.st_size, size, processes, routes));
    }
    void* base = map(fd, size);
    const auto* head = static_cast<const layout_header*>(base);
    if (head->magic != kMagic || head->processes != processes || head->routes != routes) {
        munmap(base, size);
        throw error(fmt::format("shared metrics: descriptor {} does not hold this layout", fd));
    }
    return std::shared_ptr<shared_metrics>(new shared_metrics(fd, base, size, processes, routes));
}

void shared_text::store(std::string_view text) noexcept {
    text = text.substr(0, kCapacity);
    const auto seq = sequence_.load(std::memory_order_relaxed);
    sequence_.store(seq + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    for (std::size_t w = 0; w < kWords; ++w) {
        std::uint64_t word = 0;
        const auto from = w * sizeof word;
        if (from < text.size()) {
            std::memcpy(&word, text.data() + from, std::min(sizeof word, text.size() - from));
        }
        words_[w].store(word, std::memory_order_relaxed);
    }
    length_.store(static_cast<std::uint32_t>(text.size()), std::memory_order_relaxed);
    sequence_.store(seq + 2, std::memory_order_release);
}

std::string shared_text::load() const {
    std::array<char, kCapacity> copy{};
    for (int attempt = 0; attempt < 100; ++attempt) {
        const auto before = sequence_.load(std::memory_order_acquire);
        if (before % 2 != 0) {
            continue;  // a store is under way
        }
        for (std::size_t w = 0; w < kWords; ++w) {
            const auto word = words_[w].load(std::memory_order_relaxed);
            std::memcpy(copy.data() + w * sizeof word, &word, sizeof word);
        }
        const auto length =
            std::min<std::size_t>(length_.load(std::memory_order_relaxed), kCapacity);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (sequence_.load(std::memory_order_relaxed) == before) {
            return std::string(copy.data(), length);
        }
    }
    return {};  // a writer that keeps writing: say nothing rather than something torn
}

manager_cells& shared_metrics::manager() const noexcept {
    return *std::launder(
        reinterpret_cast<manager_cells*>(static_cast<std::byte*>(base_) + kManagerOffset));
}

process_cells& shared_metrics::process(std::size_t slot) const noexcept {
    auto* block =
        static_cast<std::byte*>(base_) + kProcessesOffset + slot * process_stride(routes_);
    return *std::launder(reinterpret_cast<process_cells*>(block));
}

route_cells& shared_metrics::route(std::size_t slot, std::size_t route) const noexcept {
    auto* block = static_cast<std::byte*>(base_) + kProcessesOffset +
                  slot * process_stride(routes_) + sizeof(process_cells) +
                  route * sizeof(route_cells);
    return *std::launder(reinterpret_cast<route_cells*>(block));
}

void shared_metrics::record(std::size_t slot, std::size_t route, outcome o,
                            std::uint64_t duration_ns) const noexcept {
    auto& cells = this->route(slot, route);
    constexpr auto kRelaxed = std::memory_order_relaxed;
    switch (o) {
        case outcome::handled:
            cells.handled.fetch_add(1, kRelaxed);
            break;
        case outcome::bad_payload:
            cells.bad_payload.fetch_add(1, kRelaxed);
            break;
        case outcome::handler_error:
            cells.handler_error.fetch_add(1, kRelaxed);
            break;
    }
    const double seconds = static_cast<double>(duration_ns) * 1e-9;
    const auto bucket = static_cast<std::size_t>(
        std::lower_bound(kDurationBuckets.begin(), kDurationBuckets.end(), seconds) -
        kDurationBuckets.begin());
    cells.duration_buckets[bucket].fetch_add(1, kRelaxed);
    cells.duration_sum_ns.fetch_add(duration_ns, kRelaxed);
}

}  // namespace routemq::detail
