package wait

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/zaqar-go/suite/hooks"

	"github.com/zaqar-go/suite/internal/tailbuf"
)

// Command runs a program and approves when it exits 0. It gets the hook as
// JSON on stdin (Document) and in HOOK_* variables (Env); arguments may hold
// placeholders (Expand). Another exit status is tried again after Interval,
// unless Once is set: then the first run decides and a non-zero exit is a
// rejection whose reason is the end of the program's output. The program
// runs in its own process group, killed as a whole when the wait ends.
type Command struct {
	Argv []string
	Env  map[string]string
	// Interval between runs; 10s when 0.
	Interval time.Duration
	Once     bool
	Log      *slog.Logger
}

// Wait implements Waiter.
func (c *Command) Wait(ctx context.Context, h hooks.Hook) (Result, error) {
	interval := c.Interval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	argv := make([]string, len(c.Argv))
	for i, a := range c.Argv {
		argv[i] = Expand(a, h)
	}
	for {
		out, err := c.run(ctx, argv, h)
		var exit *exec.ExitError
		switch {
		case err == nil:
			return Result{Approved: true, Reason: fmt.Sprintf("%s exited 0", argv[0])}, nil
		case ctx.Err() != nil:
			return Result{}, ctx.Err()
		case errors.As(err, &exit) && c.Once:
			return Result{Reason: fmt.Sprintf("%s: %v: %s", argv[0], err, out)}, nil
		case errors.As(err, &exit):
			c.Log.Info("command not yet approving", "command", argv[0], "hook", h.String(), "err", err, "output", out)
		default:
			c.Log.Warn("command did not run; trying again", "command", argv[0], "hook", h.String(), "err", err)
		}
		if err := sleep(ctx, interval); err != nil {
			return Result{}, err
		}
	}
}

func (c *Command) run(ctx context.Context, argv []string, h hooks.Hook) (string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(Document(h))
	var out tailbuf.Tail // the last 1 KiB, for the error
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(os.Environ(), Env(h)...)
	for k, v := range c.Env {
		cmd.Env = append(cmd.Env, k+"="+Expand(v, h))
	}
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}
