package embedded

import (
	"os"
	"syscall"
)

// fdatasync flushes f's data and what reading it back needs, not its
// timestamps: cheaper than fsync for a log written in place.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
