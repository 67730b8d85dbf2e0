// SPDX-License-Identifier: MIT
// fiber_migrate.cpp - Boost.Fiber fibers shared by 3 threads (shared_work): each keeps its task across migrations.
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/fiber/all.hpp>

#include "boost_check.hpp"

/*
 * Three threads (main and two helpers) run Boost.Fiber's shared_work
 * scheduler: a fiber made ready goes to one queue all of them take from, so
 * fibers move between threads. Every fiber records, at each resume, the
 * thread it runs on (gettid), costack_current_task() and what
 * costack_task_info() says of it; main checks the records at the end (check()
 * is not thread-safe, so no fiber calls it).
 *
 * Yielders yield many times: they migrate when the scheduler says so.
 * Migrants are made to migrate, with no timing involved: a migrant on thread
 * X asks X's main fiber (pinned to X) and waits on a fiber condition
 * variable; X's main fiber notifies it, which puts it in the shared queue,
 * and then blocks thread X itself on a std::condition_variable that only the
 * migrant, once it runs on another thread, signals. One migration at a time,
 * so another thread is always free to take it.
 *
 * A sleeper yields in a function of its own until told to go on; an observer
 * fiber, wherever it runs, checks the sleeper's stack once costack says it is
 * suspended, then tells it.
 *
 * Boost 1.74's fiber mutexes and condition variables can lose a wake-up that
 * comes from another thread (fixed in 1.75, boostorg/fiber#261): a
 * notification here always comes from the waiter's own thread; every other
 * wait polls a flag between yields, which decides nothing by timing.
 *
 * It prints the same with the preload or without.
 */

using namespace boost_check;

namespace migrate {

constexpr int threads = 3;
constexpr int yielders = 6; // more fibers than threads
constexpr int yields = 50;
constexpr int migrants = 2;
constexpr long poll_limit = 1000000; // yields an observer waits for the sleeper, at most

static bool checks;

// What a fiber saw at each of its resumes.
struct fiber_log {
	std::string name;
	costack_task_t first_id = 0;
	int resumes = 0;
	int id_changes = 0;      // costack_current_task() differed from the first one
	int not_on_stack = 0;    // costack_task_at(a local) was not that task
	int wrong_info = 0;      // task_info: not running fcontext, or not on this thread
	std::string first_wrong; // the first wrong task_info, described
	std::set<pid_t> tids;
	pid_t forced_from = 0, forced_to = 0;
};

// A migrant waits here for the thread it leaves (not on its own stack: that thread uses it).
struct migrant_wait {
	boost::fibers::mutex m;
	boost::fibers::condition_variable cv;
	bool released = false;
};

// One per thread: its main fiber serves migration requests.
struct thread_slot {
	pid_t tid = 0;
	costack_task_t root = 0;
	std::atomic<migrant_wait *> request{ nullptr };
	bool released = false; // under os_lock: the migrant left, the thread may go on
};

static thread_slot slots[threads];
static migrant_wait waits[migrants];
static std::vector<fiber_log> logs(yielders + migrants + 2);
static std::atomic<int> remaining{ 0 };
static std::atomic<bool> all_done{ false };

// Migrations one at a time; the thread left blocks on os_cv until its slot is released.
static std::atomic<bool> migrating{ false };
static std::mutex os_lock;
static std::condition_variable os_cv;

// Startup: every thread has its scheduler before any fiber is launched.
static std::mutex start_lock;
static std::condition_variable start_cv;
static int started;

// The sleeper and its observer.
static std::atomic<bool> wake_sleeper{ false };
static std::atomic<bool> sleeper_waiting{ false };
static std::atomic<costack_task_t> sleeper_id{ 0 };
static std::atomic<const void *> sleeper_local{ nullptr };
static std::string observer_report; // what the observer saw
static bool observer_ok;

static thread_slot &slot_of(pid_t tid)
{
	for (thread_slot &s : slots)
		if (s.tid == tid)
			return s;
	std::abort();
}

// --- the fibers ------------------------------------------------------------------------

// At each resume: the thread, and what costack says of the running fiber.
STACK_FN void record(fiber_log *log)
{
	pid_t tid = gettid();

	log->resumes++;
	log->tids.insert(tid);
	if (!checks)
		return;
	costack_task_t self = costack_current_task();
	struct costack_task_info info = {};
	info.size = sizeof(info);
	if (!log->first_id)
		log->first_id = self;
	log->id_changes += self != log->first_id;
	log->not_on_stack += costack_task_at(&self) != self;
	if (costack_task_info(self, &info) != 0 || info.runtime != COSTACK_RUNTIME_FCONTEXT ||
	    info.state != COSTACK_RUNNING || info.thread != tid) {
		if (!log->wrong_info++)
			log->first_wrong = "task " + std::to_string(self) + " " +
					   costack_state_name(info.state) + ", runtime " +
					   std::to_string(info.runtime) + ", thread " +
					   std::to_string(info.thread) + " (running on " +
					   std::to_string(tid) + ")";
	}
}

static void finished(void)
{
	if (--remaining == 0)
		all_done = true;
}

STACK_FN void yielder_body(fiber_log *log)
{
	for (int i = 0; i < yields; i++) {
		record(log);
		boost::this_fiber::yield();
	}
	record(log);
	finished();
}

// Leave this thread: see the top of the file.
STACK_FN void force_migration(fiber_log *log, migrant_wait &me)
{
	while (migrating.exchange(true))
		boost::this_fiber::yield();
	pid_t from = gettid();
	thread_slot &s = slot_of(from);

	record(log);
	{
		std::unique_lock<boost::fibers::mutex> lk(me.m);
		s.request = &me;
		me.cv.wait(lk, [&] { return me.released; });
	}
	record(log);
	log->forced_from = from;
	log->forced_to = gettid();
	{
		std::lock_guard<std::mutex> g(os_lock);
		s.released = true;
	}
	os_cv.notify_all();
	migrating = false;
}

STACK_FN void migrant_body(fiber_log *log, migrant_wait *me)
{
	for (int i = 0; i < 5; i++) {
		record(log);
		boost::this_fiber::yield();
	}
	force_migration(log, *me);
	for (int i = 0; i < 5; i++) {
		boost::this_fiber::yield();
		record(log);
	}
	finished();
}

STACK_FN void sleeper_wait(void)
{
	sleeper_waiting = true;
	while (!wake_sleeper)
		boost::this_fiber::yield();
	KEEP_FRAME();
}

STACK_FN void sleeper_body(fiber_log *log)
{
	int local = 0;

	record(log);
	sleeper_local = &local;
	sleeper_id = checks ? costack_current_task() : 0;
	sleeper_wait();
	record(log);
	finished();
	KEEP_FRAME();
}

// Looks at the sleeper from another fiber, then tells it to go on.
STACK_FN void observe_sleeper(void)
{
	long polls = 0;

	while (!sleeper_waiting)
		boost::this_fiber::yield();
	costack_task_t id = sleeper_id;
	if (checks) {
		while (costack_task_state(id) != COSTACK_SUSPENDED && polls++ < poll_limit)
			boost::this_fiber::yield();
		int state = costack_task_state(id);
		std::vector<frame> frames = task_frames(id, 0);
		std::vector<std::string> user = user_frames(frames, "migrate::");
		std::string forbidden = forbidden_frame(frames);
		/* It may run again, elsewhere, once seen suspended: its stack is then
		 * where it was last resumed, which is the same place. */
		observer_ok = state != -1 && polls <= poll_limit &&
			      costack_task_at(sleeper_local) == id && id != costack_current_task() &&
			      user == std::vector<std::string>{ "migrate::sleeper_body",
								"migrate::sleeper_wait" } &&
			      forbidden.empty();
		observer_report = "task " + std::to_string(id) + " " + costack_state_name(state) +
				  " after " + std::to_string(polls) + " polls, task_at(its local) " +
				  std::to_string(costack_task_at(sleeper_local)) + ", user frames " +
				  describe(user) + (forbidden.empty() ? "" : ", forbidden " + forbidden) +
				  ", all frames " + describe(frames);
	}
	wake_sleeper = true;
	KEEP_FRAME();
}

STACK_FN void observer_body(fiber_log *log)
{
	record(log);
	observe_sleeper();
	record(log);
	finished();
	KEEP_FRAME();
}

// --- the threads -------------------------------------------------------------------------

// A thread's main fiber: serve migration requests until every fiber finished.
static void serve(thread_slot &s)
{
	for (;;) {
		migrant_wait *who;

		while (!(who = s.request.exchange(nullptr)) && !all_done)
			boost::this_fiber::yield();
		if (!who)
			return;
		{
			std::unique_lock<boost::fibers::mutex> lk(who->m);
			who->released = true;
		}
		/* The migrant waits on this thread: ready again, in the shared queue. */
		who->cv.notify_one();
		std::unique_lock<std::mutex> g(os_lock);
		os_cv.wait(g, [&] { return s.released; });
		s.released = false;
	}
}

static void join_pool(thread_slot &s)
{
	s.tid = gettid();
	if (checks)
		s.root = costack_current_task();
	boost::fibers::use_scheduling_algorithm<boost::fibers::algo::shared_work>();
	std::unique_lock<std::mutex> g(start_lock);
	started++;
	start_cv.notify_all();
	start_cv.wait(g, [] { return started == threads; });
}

static void helper(thread_slot *s)
{
	join_pool(*s);
	serve(*s);
}

static void check_logs(int forced)
{
	std::set<costack_task_t> ids, roots;
	int moved = 0;

	for (const thread_slot &s : slots)
		roots.insert(s.root);
	check(roots.size() == threads && !roots.count(0),
	      "the 3 threads' root tasks are 3 different tasks");
	for (const fiber_log &log : logs) {
		const char *name = log.name.c_str();

		check(log.first_id != 0 && !roots.count(log.first_id) && log.id_changes == 0,
		      "%s: costack_current_task() is one task (%llu), not a thread's root, at each of "
		      "its %d resumes on %zu thread(s) (%d differed)",
		      name, (unsigned long long)log.first_id, log.resumes, log.tids.size(),
		      log.id_changes);
		check(log.not_on_stack == 0,
		      "%s: costack_task_at(a local) is that task at every resume (%d were not)", name,
		      log.not_on_stack);
		check(log.wrong_info == 0,
		      "%s: task_info, asked by itself, says running fcontext on the thread it runs "
		      "on, at every resume (%d did not; first: %s)",
		      name, log.wrong_info, log.first_wrong.c_str());
		ids.insert(log.first_id);
		moved += log.tids.size() > 1;
	}
	check(ids.size() == logs.size(), "every fiber is a task of its own (%zu tasks, %zu fibers)",
	      ids.size(), logs.size());
	check(forced == migrants, "the migrants left the thread they were on when made to: %d of %d",
	      forced, migrants);
	check(moved >= migrants, "fibers ran on more than one thread: %d of %zu", moved,
	      logs.size());
	check(observer_ok,
	      "a suspended fiber, seen from another fiber: suspended, found by task_at, its "
	      "stack [migrate::sleeper_body migrate::sleeper_wait] among Boost's frames: %s",
	      observer_report.c_str());
}

} // namespace migrate

using namespace migrate;

int main(int argc, char **argv)
{
	std::vector<std::thread> helpers;
	int forced = 0;

	checks = check_init("fiber_migrate", argc, argv);
	for (int i = 0; i < yielders; i++)
		logs[i].name = "yielder " + std::to_string(i);
	for (int i = 0; i < migrants; i++)
		logs[yielders + i].name = "migrant " + std::to_string(i);
	logs[yielders + migrants].name = "sleeper";
	logs[yielders + migrants + 1].name = "observer";
	remaining = (int)logs.size();

	for (int i = 1; i < threads; i++)
		helpers.emplace_back(helper, &slots[i]);
	join_pool(slots[0]);

	boost::fibers::fiber(sleeper_body, &logs[yielders + migrants]).detach();
	for (int i = 0; i < yielders; i++)
		boost::fibers::fiber(yielder_body, &logs[i]).detach();
	for (int i = 0; i < migrants; i++)
		boost::fibers::fiber(migrant_body, &logs[yielders + i], &waits[i]).detach();
	boost::fibers::fiber(observer_body, &logs[yielders + migrants + 1]).detach();

	serve(slots[0]);
	for (std::thread &t : helpers)
		t.join();

	for (int i = 0; i < migrants; i++)
		forced += logs[yielders + i].forced_from != 0 &&
			  logs[yielders + i].forced_from != logs[yielders + i].forced_to;
	std::printf("fiber_migrate: %zu fibers on %d threads, %d yields each; %d of %d migrants "
		    "moved to another thread when made to\n",
		    logs.size(), threads, yields, forced, migrants);
	if (checks)
		check_logs(forced);
	return check_finish();
}
