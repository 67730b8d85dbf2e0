# SPDX-License-Identifier: MIT
"""lttng_session.py - record a program under libcostack.so with an LTTng session of its own.

The offline tests record with lttng(1) directly, not with `costack record`, so that
what they check of the analysis does not depend on record. A test first enters mount and
pid namespaces of its own (enter_namespaces: unshare(1), empty tmpfs on /run and /dev/shm,
LTTNG_HOME in a temporary directory), so that the only session daemon it can meet is its
own and nothing of it outlives the test; then a session daemon is started only when none
answers (`lttng list`), as a child of the test, and stopped at the end. Each recording has
a session with a unique name and its own output directory.
"""
import os
import signal
import subprocess
import sys
import tempfile
import uuid

NAMESPACE_ENV = 'COSTACK_TEST_NAMESPACE'
# What would make a test's programs run under a costack it did not choose.
COSTACK_ENV = ('LD_PRELOAD', 'COSTACK_LIBRARY', 'COSTACK_LTTNG_LIBRARY', 'COSTACK_TRACE')


def clear_costack_env():
    """Take out of this process' environment what it inherited of costack's (meson's, or a
    shell's under costack run): each test says itself what its programs preload."""
    for name in COSTACK_ENV:
        os.environ.pop(name, None)


def enter_namespaces():
    """Re-run this script as the first process of new mount and pid namespaces, with /run and
    /dev/shm empty and LTTNG_HOME a directory of its own: the only session daemon it can meet
    is one it starts, and the kernel ends all of it with the test.

    Returns (in the new namespaces) True, or False when they cannot be made (not root, no
    unshare): the caller then fails (CI runs as root; a skip would hide it).
    """
    if os.environ.get(NAMESPACE_ENV) == '1' and os.getpid() == 1:
        for path in ['/run', '/dev/shm']:
            subprocess.run(['mount', '-t', 'tmpfs', '-o', 'mode=1777', 'tmpfs', path],
                           check=True)
        os.makedirs('/run/lock', exist_ok=True)
        os.environ['LTTNG_HOME'] = tempfile.mkdtemp(prefix='costack-lttng-home-')
        return True
    flags = ['--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private']
    if os.geteuid() != 0 or subprocess.run(['unshare'] + flags + ['true'],
                                            capture_output=True).returncode != 0:
        return False
    env = dict(os.environ, **{NAMESPACE_ENV: '1'})
    sys.stdout.flush()
    os.execvpe('unshare', ['unshare'] + flags + [sys.executable, os.path.abspath(sys.argv[0])] +
               sys.argv[1:], env)


class SessionDaemon:
    """`with SessionDaemon():` a session daemon answers inside."""

    def __init__(self):
        self.proc = None

    def __enter__(self):
        if subprocess.run(['lttng', 'list'], capture_output=True).returncode == 0:
            return self
        # --sig-parent: SIGUSR1 to us once it accepts commands (no polling, no sleep).
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        try:
            self.proc = subprocess.Popen(['lttng-sessiond', '--no-kernel', '--sig-parent'],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            if signal.sigtimedwait({signal.SIGUSR1}, 60) is None:
                raise RuntimeError('lttng-sessiond did not get ready in 60 s')
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
        return self

    def __exit__(self, *exc):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return False


def lttng(*args):
    r = subprocess.run(['lttng'] + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError('lttng %s: %s%s' % (' '.join(args), r.stdout, r.stderr))
    return r.stdout


def record(out_dir, command, libcostack, provider, env=None, channel=None, stdout=None,
           timeout=600, per_process=False):
    """Record command into out_dir (costack, statedump and dl events; vpid, vtid, procname).

    channel: None (the default channel), or a dict of `lttng enable-channel -u` options
    (e.g. {'subbuf-size': '4096', 'num-subbuf': '2'}, discard mode). per_process: as costack
    record does, per-process buffers and the context vtid alone (each process' trace has its
    vpid and procname in its environment); else per-user buffers with the three contexts.
    Returns the command's CompletedProcess.
    """
    name = 'costack-offline-' + uuid.uuid4().hex[:12]
    lttng('create', name, '--output=' + out_dir)
    try:
        channel_args = []
        if channel is not None or per_process:
            options = ['--%s=%s' % kv for kv in (channel or {}).items()]
            if per_process:
                options.append('--buffers-pid')
            lttng('enable-channel', '-s', name, '-u', *options, 'chan')
            channel_args = ['-c', 'chan']
        for events in ['costack:*', 'lttng_ust_statedump:*', 'lttng_ust_dl:*']:
            lttng('enable-event', '-s', name, '-u', *channel_args, events)
        contexts = ['vtid'] if per_process else ['vpid', 'vtid', 'procname']
        lttng('add-context', '-s', name, '-u', *channel_args,
              *[a for c in contexts for a in ('-t', c)])
        lttng('start', name)
        run_env = dict(os.environ if env is None else env)
        run_env.update({
            'COSTACK_TRACE': '1',
            'COSTACK_LTTNG_LIBRARY': provider,
            'LD_PRELOAD': libcostack + ':liblttng-ust-dl.so',
        })
        result = subprocess.run(command, env=run_env, stdin=subprocess.DEVNULL,
                                stdout=stdout if stdout is not None else subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, timeout=timeout)
        lttng('stop', name)
    finally:
        lttng('destroy', name)
    return result
