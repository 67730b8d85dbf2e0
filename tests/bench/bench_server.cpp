// SPDX-License-Identifier: MIT
// bench_server.cpp - a Boost.Asio echo server, one spawn()ed coroutine per connection, and the bounded client that drives it (bench_server.py runs both).
//
// bench_server serve CONNECTIONS
//   Listens on 127.0.0.1 (a port of the kernel's choice, printed as "port N"), serves
//   CONNECTIONS connections, each a coroutine echoing what it reads until its client closes
//   it, and exits once all have closed, printing "requests N" (reads served). Under costack it
//   also prints "switches N", the switches costack saw into the connections' coroutines, and
//   "stacks N bad M": a watcher coroutine asks every 20 ms for the stack of each connection
//   waiting in a read, which must hold the connection's frames (M: those that did not).
// bench_server client PORT CONNECTIONS REQUESTS SIZE
//   CONNECTIONS connections, each sending one request of SIZE bytes at a time and reading its
//   echo back, REQUESTS in all; prints "requests_per_second X".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench.h"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

struct server {
	asio::io_context io;
	struct costack_api api;
	bool costack = false;
	long requests = 0;
	uint64_t switches = 0;
	long stacks = 0, bad_stacks = 0;
	int open = 0;
	std::vector<costack_task_t> waiting; // the connections' tasks (0: closed)
};

// Deep enough that a stack of the connection's own frames is told from an empty one.
__attribute__((noinline)) void echo(server &s, tcp::socket &socket, asio::yield_context yield)
{
	char buf[4096];

	for (;;) {
		boost::system::error_code ec;
		size_t n = socket.async_read_some(asio::buffer(buf), yield[ec]);

		if (ec)
			return;
		s.requests++;
		asio::async_write(socket, asio::buffer(buf, n), yield[ec]);
		if (ec)
			return;
	}
}

void connection(server &s, tcp::socket socket, size_t index, asio::yield_context yield)
{
	costack_task_t self = s.costack ? s.api.current_task() : 0;
	struct costack_task_info info;

	s.waiting[index] = self;
	echo(s, socket, yield);
	s.waiting[index] = 0;
	if (self) {
		memset(&info, 0, sizeof(info));
		info.size = sizeof(info);
		if (s.api.task_info(self, &info) == 0)
			s.switches += info.switches;
	}
	s.open--;
}

// Under costack: the stack of every connection waiting for a read holds frames.
void watcher(server &s, asio::yield_context yield)
{
	asio::steady_timer timer(s.io);
	void *frames[COSTACK_MAX_FRAMES];

	while (s.open > 0) {
		timer.expires_after(std::chrono::milliseconds(20));
		timer.async_wait(yield);
		for (costack_task_t task : s.waiting) {
			if (!task || s.api.task_state(task) != COSTACK_SUSPENDED)
				continue;
			s.stacks++;
			if (s.api.get_stack(task, frames, COSTACK_MAX_FRAMES, 0) < 3)
				s.bad_stacks++;
		}
	}
}

int serve(int connections)
{
	server s;
	tcp::acceptor acceptor(s.io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));

	s.costack = costack_api_load(&s.api);
	s.waiting.assign((size_t)connections, 0);
	s.open = connections;
	printf("port %u\n", (unsigned)acceptor.local_endpoint().port());
	fflush(stdout);
	asio::spawn(s.io, [&](asio::yield_context yield) {
		for (int i = 0; i < connections; i++) {
			tcp::socket socket(s.io);

			acceptor.async_accept(socket, yield);
			socket.set_option(tcp::no_delay(true));
			asio::spawn(s.io, [&s, i, sock = std::move(socket)](
						  asio::yield_context y) mutable {
				connection(s, std::move(sock), (size_t)i, y);
			});
		}
	});
	if (s.costack)
		asio::spawn(s.io, [&](asio::yield_context yield) { watcher(s, yield); });
	s.io.run();
	printf("requests %ld\n", s.requests);
	if (s.costack)
		printf("switches %llu\nstacks %ld bad %ld\n", (unsigned long long)s.switches, s.stacks,
		       s.bad_stacks);
	return 0;
}

bool write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

struct client_connection {
	int fd;
	long left;  // requests still to send, the one in flight included
	size_t got; // bytes of the current echo read
};

int client(int port, int connections, long requests, size_t size)
{
	std::vector<client_connection> conns((size_t)connections);
	std::vector<struct pollfd> fds((size_t)connections);
	std::vector<char> request(size, 'x'), reply(size);
	struct sockaddr_in addr;
	long done = 0;
	int one = 1;

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < connections; i++) {
		client_connection &c = conns[(size_t)i];

		c.fd = socket(AF_INET, SOCK_STREAM, 0);
		if (c.fd < 0 || connect(c.fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
			perror("bench_server client: connect");
			return 1;
		}
		setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c.left = requests / connections + (i < requests % connections);
		c.got = 0;
	}
	double t0 = bench_now_ns();
	for (auto &c : conns)
		if (c.left && !write_all(c.fd, request.data(), size))
			return 1;
	while (done < requests) {
		for (int i = 0; i < connections; i++) {
			fds[(size_t)i].fd = conns[(size_t)i].left ? conns[(size_t)i].fd : -1;
			fds[(size_t)i].events = POLLIN;
		}
		if (poll(fds.data(), (nfds_t)connections, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("bench_server client: poll");
			return 1;
		}
		for (int i = 0; i < connections; i++) {
			client_connection &c = conns[(size_t)i];
			ssize_t r;

			if (!(fds[(size_t)i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(c.fd, reply.data(), size - c.got);
			if (r <= 0) {
				fprintf(stderr, "bench_server client: the server closed a connection\n");
				return 1;
			}
			c.got += (size_t)r;
			if (c.got < size)
				continue;
			c.got = 0;
			done++;
			if (--c.left && !write_all(c.fd, request.data(), size))
				return 1;
		}
	}
	double t1 = bench_now_ns();
	for (auto &c : conns)
		close(c.fd);
	printf("requests_per_second %.1f\n", (double)requests / ((t1 - t0) / 1e9));
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "serve"))
		return serve(atoi(argv[2]));
	if (argc == 6 && !strcmp(argv[1], "client"))
		return client(atoi(argv[2]), atoi(argv[3]), atol(argv[4]), (size_t)atol(argv[5]));
	fprintf(stderr, "usage: bench_server serve CONNECTIONS | client PORT CONNECTIONS REQUESTS "
			"SIZE\n");
	return 2;
}
