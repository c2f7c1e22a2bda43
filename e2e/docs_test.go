package e2e_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runnableBlocks returns the shell blocks of README.md and docs/*.md marked runnable
// ("```sh runnable"), by file.
func runnableBlocks(t *testing.T) map[string][]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "docs", "*.md"))
	files = append(files, filepath.Join("..", "README.md"))
	re := regexp.MustCompile("(?s)```sh runnable\n(.*?)```")
	out := map[string][]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			out[filepath.Base(f)] = append(out[filepath.Base(f)], m[1])
		}
	}
	return out
}

// TestRunnableDocs runs every shell block the docs mark runnable, as written, in a second
// terminal of the local stack (go run ./localstack): the starter and the Temporal CLI on the
// PATH its env file gives, against its Temporal and simulator. Each block must exit 0.
func TestRunnableDocs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the local stack")
	}
	blocks := runnableBlocks(t)
	if len(blocks) == 0 {
		t.Fatal("no runnable blocks in README.md or docs/")
	}
	dir := t.TempDir()
	port := func() string { a := freeAddr(t); return a[strings.LastIndex(a, ":")+1:] }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stack := exec.CommandContext(ctx, "go", "run", "../localstack", "--dir", dir, "--temporal-port", port(), "--ui-port", port(),
		"--simulator", freeAddr(t), "--webhook", freeAddr(t), "--worker-metrics", freeAddr(t))
	stack.Cancel = func() error { return stack.Process.Signal(syscall.SIGINT) }
	stack.WaitDelay = 30 * time.Second
	out := &syncBuffer{}
	stack.Stdout, stack.Stderr = out, out
	if err := stack.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = stack.Wait()
		if t.Failed() {
			t.Logf("--- localstack ---\n%s", tail(out.String(), 4000))
		}
	}()
	env := filepath.Join(dir, "env")
	deadline := time.Now().Add(10 * time.Minute) // the first run builds the Temporal CLI
	for !fileExists(env) {
		if time.Now().After(deadline) || stack.ProcessState != nil {
			t.Fatalf("localstack wrote no %s", env)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if b, _ := os.ReadFile(env); !strings.Contains(string(b), "export TEMPORAL_ADDRESS=") || !strings.Contains(string(b), "export PATH=") {
		t.Fatalf("env file:\n%s", b)
	}
	for file, bs := range blocks {
		for i, block := range bs {
			script := strings.ReplaceAll(block, ".localstack/", dir+"/")
			cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
			cmd.Dir = ".."
			res, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("%s, runnable block %d: %v\n%s\n--- output ---\n%s", file, i+1, err, block, res)
				continue
			}
			t.Logf("%s, runnable block %d:\n%s", file, i+1, lastLines(string(res), 20))
		}
	}
}

func lastLines(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
