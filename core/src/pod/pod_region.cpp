#include "pod/pod_region.hpp"

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

constexpr std::uint64_t kMagic = 0x524d514d45545234;  // "RMQMETR4": bump with any layout change

struct layout_header {
    std::uint64_t magic;
    std::uint64_t processes;
    std::uint64_t routes;
};

constexpr std::size_t kManagerOffset = sizeof(layout_header);
constexpr std::size_t kScalingOffset = kManagerOffset + sizeof(manager_cells);

std::size_t processes_offset(std::size_t routes) {
    return kScalingOffset + routes * sizeof(scaling_cells);
}

std::size_t process_stride(std::size_t routes) {
    return sizeof(process_cells) + routes * sizeof(route_cells);
}

std::size_t region_size(std::size_t processes, std::size_t routes) {
    return processes_offset(routes) + processes * process_stride(routes);
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

pod_region::pod_region(int fd, void* base, std::size_t size, std::size_t processes,
                       std::size_t routes)
    : fd_(fd), base_(base), size_(size), processes_(processes), routes_(routes) {}

pod_region::~pod_region() {
    munmap(base_, size_);
    close(fd_);
}

std::shared_ptr<pod_region> pod_region::create(std::size_t processes, std::size_t routes) {
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
    for (std::size_t r = 0; r < routes; ++r) {
        new (bytes + kScalingOffset + r * sizeof(scaling_cells)) scaling_cells{};
    }
    for (std::size_t p = 0; p < processes; ++p) {
        auto* block = bytes + processes_offset(routes) + p * process_stride(routes);
        auto* cells = new (block) process_cells{};
        pthread_mutexattr_t attr;
        pthread_mutexattr_init(&attr);
        pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
        pthread_mutex_init(&cells->gate.lock, &attr);
        pthread_mutexattr_destroy(&attr);
        for (std::size_t r = 0; r < routes; ++r) {
            new (block + sizeof(process_cells) + r * sizeof(route_cells)) route_cells{};
        }
    }
    return std::shared_ptr<pod_region>(new pod_region(fd, base, size, processes, routes));
}

std::shared_ptr<pod_region> pod_region::attach(int fd, std::size_t processes, std::size_t routes) {
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
    return std::shared_ptr<pod_region>(new pod_region(fd, base, size, processes, routes));
}

void shared_text::store(std::string_view text) noexcept {
    text = text.substr(0, kCapacity);
    // Release stores of the text rather than a release fence after the odd sequence (a reader
    // that sees a word of this store sees the odd sequence after it): the same ordering, free
    // on x86, and one ThreadSanitizer understands (it does not model fences: g++ -Wtsan).
    const auto seq = sequence_.load(std::memory_order_relaxed);
    sequence_.store(seq + 1, std::memory_order_relaxed);
    for (std::size_t w = 0; w < kWords; ++w) {
        std::uint64_t word = 0;
        const auto from = w * sizeof word;
        if (from < text.size()) {
            std::memcpy(&word, text.data() + from, std::min(sizeof word, text.size() - from));
        }
        words_[w].store(word, std::memory_order_release);
    }
    length_.store(static_cast<std::uint32_t>(text.size()), std::memory_order_release);
    sequence_.store(seq + 2, std::memory_order_release);
}

std::string shared_text::load() const {
    std::array<char, kCapacity> copy{};
    for (int attempt = 0; attempt < 100; ++attempt) {
        const auto before = sequence_.load(std::memory_order_acquire);
        if (before % 2 != 0) {
            continue;  // a store is under way
        }
        // Acquire loads: a word of a store begun since `before` makes the check below see it.
        for (std::size_t w = 0; w < kWords; ++w) {
            const auto word = words_[w].load(std::memory_order_acquire);
            std::memcpy(copy.data() + w * sizeof word, &word, sizeof word);
        }
        const auto length =
            std::min<std::size_t>(length_.load(std::memory_order_acquire), kCapacity);
        if (sequence_.load(std::memory_order_relaxed) == before) {
            return std::string(copy.data(), length);
        }
    }
    return {};  // a writer that keeps writing: say nothing rather than something torn
}

manager_cells& pod_region::manager() const noexcept {
    return *std::launder(
        reinterpret_cast<manager_cells*>(static_cast<std::byte*>(base_) + kManagerOffset));
}

process_cells& pod_region::process(std::size_t slot) const noexcept {
    auto* block =
        static_cast<std::byte*>(base_) + processes_offset(routes_) + slot * process_stride(routes_);
    return *std::launder(reinterpret_cast<process_cells*>(block));
}

scaling_cells& pod_region::scaling(std::size_t route) const noexcept {
    return *std::launder(reinterpret_cast<scaling_cells*>(
        static_cast<std::byte*>(base_) + kScalingOffset + route * sizeof(scaling_cells)));
}

route_cells& pod_region::route(std::size_t slot, std::size_t route) const noexcept {
    auto* block = static_cast<std::byte*>(base_) + processes_offset(routes_) +
                  slot * process_stride(routes_) + sizeof(process_cells) +
                  route * sizeof(route_cells);
    return *std::launder(reinterpret_cast<route_cells*>(block));
}

void pod_region::record(std::size_t slot, std::size_t route, outcome o,
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

route_sums& route_sums::operator+=(const route_sums& o) noexcept {
    handled += o.handled;
    bad_payload += o.bad_payload;
    handler_error += o.handler_error;
    retries += o.retries;
    for (std::size_t d = 0; d < dead_letters.size(); ++d) {
        dead_letters[d] += o.dead_letters[d];
    }
    timeouts += o.timeouts;
    crashes += o.crashes;
    publishes_refused += o.publishes_refused;
    replies_refused += o.replies_refused;
    for (std::size_t b = 0; b < buckets.size(); ++b) {
        buckets[b] += o.buckets[b];
    }
    sum_ns += o.sum_ns;
    return *this;
}

std::uint64_t route_sums::runs() const noexcept {
    std::uint64_t n = 0;
    for (const auto b : buckets) {
        n += b;
    }
    return n;
}

route_sums pod_region::sum_route(std::size_t r) const noexcept {
    constexpr auto kRelaxed = std::memory_order_relaxed;
    route_sums s;
    for (std::size_t p = 0; p < processes_; ++p) {
        const auto& c = route(p, r);
        s.handled += c.handled.load(kRelaxed);
        s.bad_payload += c.bad_payload.load(kRelaxed);
        s.handler_error += c.handler_error.load(kRelaxed);
        s.retries += c.retries.load(kRelaxed);
        for (std::size_t d = 0; d < s.dead_letters.size(); ++d) {
            s.dead_letters[d] += c.dead_letters[d].load(kRelaxed);
        }
        s.timeouts += c.timeouts.load(kRelaxed);
        s.crashes += c.crashes.load(kRelaxed);
        s.publishes_refused += c.publishes_refused.load(kRelaxed);
        s.replies_refused += c.replies_refused.load(kRelaxed);
        for (std::size_t b = 0; b < s.buckets.size(); ++b) {
            s.buckets[b] += c.duration_buckets[b].load(kRelaxed);
        }
        s.sum_ns += c.duration_sum_ns.load(kRelaxed);
    }
    return s;
}

std::uint64_t pod_region::handled(std::size_t slot) const noexcept {
    std::uint64_t total = 0;
    for (std::size_t r = 0; r < routes_; ++r) {
        total += route(slot, r).handled.load();
    }
    return total;
}

std::int64_t region_clock_ms() noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void pod_region::begin_work(std::size_t slot, std::size_t route, std::string_view topic,
                            std::uint64_t digest,
                            std::chrono::milliseconds timeout) const noexcept {
    auto& w = process(slot).work;
    w.sequence.fetch_add(1);  // odd: being written
    const auto length = std::min(topic.size(), kWorkTopicLength);
    for (std::size_t i = 0; i < length; ++i) {
        w.topic[i].store(topic[i], std::memory_order_relaxed);
    }
    w.topic_length.store(static_cast<std::uint32_t>(length));
    w.digest.store(digest);
    w.timeout_ms.store(timeout.count());
    w.started_ms.store(region_clock_ms());
    w.route.store(static_cast<std::uint32_t>(route + 1));
    w.sequence.fetch_add(1);
}

void pod_region::end_work(std::size_t slot) const noexcept {
    auto& w = process(slot).work;
    w.sequence.fetch_add(1);
    w.route.store(0);
    w.digest.store(0);
    w.sequence.fetch_add(1);
}

work_snapshot pod_region::work(std::size_t slot) const {
    const auto& w = process(slot).work;
    work_snapshot out;
    // A few tries: the writer holds the sequence odd only for a handful of stores. A writer that
    // died mid-write (it never does between two stores it cannot survive) leaves it odd: then the
    // last copy is taken as it is.
    for (int attempt = 0; attempt < 100; ++attempt) {
        const auto before = w.sequence.load();
        out.route = w.route.load();
        out.digest = w.digest.load();
        out.started_ms = w.started_ms.load();
        out.timeout_ms = w.timeout_ms.load();
        const auto length = std::min<std::size_t>(w.topic_length.load(), kWorkTopicLength);
        out.topic.resize(length);
        for (std::size_t i = 0; i < length; ++i) {
            out.topic[i] = w.topic[i].load(std::memory_order_relaxed);
        }
        if (before % 2 == 0 && w.sequence.load() == before) {
            break;
        }
    }
    return out;
}

int pod_region::add_crash(std::uint64_t digest, std::int32_t status) const noexcept {
    auto& m = manager();
    for (auto& e : m.poison) {
        if (e.digest.load() == digest) {
            e.last_status.store(status);
            return static_cast<int>(e.crashes.fetch_add(1) + 1);
        }
    }
    auto& e = m.poison[m.poison_next.fetch_add(1) % kPoisonEntries];
    e.crashes.store(0);  // before the digest, so a reader never sees the old count for it
    e.digest.store(digest);
    e.last_status.store(status);
    e.crashes.store(1);
    return 1;
}

int pod_region::crashes(std::uint64_t digest, std::int32_t& last_status) const noexcept {
    // Asked before every handler run: look only at the entries add_crash has filled (from the
    // first on, in order), which usually means none.
    const auto& m = manager();
    const auto used = std::min<std::size_t>(m.poison_next.load(), kPoisonEntries);
    for (std::size_t i = 0; i < used; ++i) {
        const auto& e = m.poison[i];
        if (e.digest.load() == digest) {
            last_status = e.last_status.load();
            return static_cast<int>(e.crashes.load());
        }
    }
    return 0;
}

}  // namespace routemq::detail
