package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// process is one component of the stack. It is only ever signalled through
// its own PID, never looked up by name: other clusters (other tests, other
// people) may run the same binaries on this machine.
type process struct {
	name    string
	path    string
	args    []string
	env     []string
	logPath string

	cmd      *exec.Cmd
	pidv     int
	detached bool
	done     chan struct{} // closed when the process has exited and been reaped
	err      error         // exit status, valid after done is closed
}

// start runs the process with stdout and stderr appended to its log file.
// When detached, the process gets its own session so that it outlives the
// starting process and ignores the terminal's signals (make dev-cluster);
// otherwise the kernel kills it if the starting process dies (a test binary
// killed by go test's timeout must not leave a control plane behind).
// Pdeathsig fires when the starting *thread* exits; the Go runtime only ends
// threads of goroutines that exit while locked to them, which the callers
// here never do.
func (p *process) start(detached bool) error {
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = append(childEnv(), p.env...)
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.Dir = filepath.Dir(p.logPath)
	if detached {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.cmd = cmd
	p.pidv = cmd.Process.Pid
	p.detached = detached
	p.done = make(chan struct{})
	if detached {
		// Nobody waits for a detached process here: once this process
		// exits, init reaps it. Release it so Go forgets about it.
		close(p.done)
		return cmd.Process.Release()
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return nil
}

func (p *process) pid() int { return p.pidv }

// exited reports whether the process has ended.
func (p *process) exited() bool {
	if p.cmd == nil {
		return true
	}
	if p.detached {
		return !PIDAlive(p.pidv, p.path)
	}
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to grace for the exit, then SIGKILLs.
func (p *process) stop(grace time.Duration) error {
	if p.cmd == nil || p.exited() {
		return nil
	}
	if p.detached {
		return stopPID(p.pidv, p.path, grace)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, p.pid())
	}
}

// logTail returns the last n bytes of the log.
func (p *process) logTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// PIDAlive reports whether pid names a live process running binary (the
// absolute path it was started from). Checking the executable guards
// against a PID the kernel has recycled for an unrelated process since.
func PIDAlive(pid int, binary string) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	if binary == "" {
		return true
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		// A zombie has no exe link: it is dead, only not yet reaped.
		return false
	}
	exe = strings.TrimSuffix(exe, " (deleted)")
	return exe == binary
}

// stopPID stops a process this process did not start (make
// dev-cluster-down): SIGTERM, poll until it is gone, SIGKILL after grace.
func stopPID(pid int, binary string, grace time.Duration) error {
	if !PIDAlive(pid, binary) {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !PIDAlive(pid, binary) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	deadline = time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if !PIDAlive(pid, binary) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("pid %d (%s) still alive after SIGKILL", pid, binary)
}

// childEnv is the caller's environment minus what would point a component
// somewhere else: a person's KUBECONFIG, and the ARGO_* and KWOK_* variables
// that the workflow-controller and kwok read as flag defaults.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "KUBECONFIG" || strings.HasPrefix(k, "ARGO_") || strings.HasPrefix(k, "KWOK_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}
