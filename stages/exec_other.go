//go:build !unix

package stages

import (
	"errors"
	"os"
	"os/exec"
)

// newProcessGroup does nothing where there are no process groups.
func newProcessGroup(cmd *exec.Cmd) {}

// signalGroup kills the program (only it: there are no process groups
// here, nor a polite signal). A program that has exited is not an error.
func signalGroup(cmd *exec.Cmd, kill bool) error {
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}
