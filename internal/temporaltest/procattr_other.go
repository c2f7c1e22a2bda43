//go:build !linux

package temporaltest

import "os/exec"

func dieWithParent(*exec.Cmd) {}
