#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>

namespace routemq::detail {

/// Commands for the manager's main loop from other threads (the dashboard's actions): the
/// supervisor is the main loop's alone, so another thread asks here and waits for the answer,
/// which the loop gives at its next turn (every 100 ms at most).
class command_queue {
public:
    /// Queues `command` and waits up to `timeout` for its answer; empty when none came, and then
    /// the command is dropped unless the loop has taken it already (what the caller was told,
    /// "no answer", must not turn into a scale or reload later).
    std::string ask(std::string command, std::chrono::milliseconds timeout) {
        auto done = std::make_shared<std::promise<std::string>>();
        auto answer = done->get_future();
        {
            std::lock_guard lock(mu_);
            queued_.push_back({std::move(command), done});
        }
        if (answer.wait_for(timeout) != std::future_status::ready) {
            std::lock_guard lock(mu_);
            std::erase_if(queued_, [&done](const entry& e) { return e.done == done; });
            return "";
        }
        return answer.get();
    }

    /// Main loop: answers every queued command with `answer`.
    void answer_all(const std::function<std::string(const std::string&)>& answer) {
        std::deque<entry> now;
        {
            std::lock_guard lock(mu_);
            now.swap(queued_);
        }
        for (auto& e : now) {
            try {
                e.done->set_value(answer(e.command));
            } catch (...) {
                e.done->set_value(std::string(R"({"error":"internal error"})"));
            }
        }
    }

private:
    struct entry {
        std::string command;
        std::shared_ptr<std::promise<std::string>> done;
    };
    std::mutex mu_;
    std::deque<entry> queued_;
};

}  // namespace routemq::detail
