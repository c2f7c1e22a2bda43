// Command mutants is the project's mutation gate: it applies each named mutant of list.go (a
// small bug in a money-critical line, and why it matters) to a scratch copy of the repository,
// runs the tests of the packages that must catch it, and fails when one survives, no longer
// applies, or does not compile.
//
//	go run ./tools/mutants                 # every mutant
//	go run ./tools/mutants -run webhook    # those whose name matches the regular expression
//	go run ./tools/mutants -list           # names, files and reasons
//
// Tests run with -short: the tests that need a real Temporal server or the whole system skip,
// so the gate covers what the fast unit, workflow (time-skipping) and replay tests catch. A
// mutant only a real-server test can catch names that test, which then runs in full (it needs
// TEMPORAL_CLI, as scripts/test sets it).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

func main() {
	runFlag := flag.String("run", "", "only the mutants whose name matches this regular expression")
	list := flag.Bool("list", false, "list the mutants and exit")
	timeout := flag.Duration("timeout", 5*time.Minute, "longest test run of one mutant (one that takes longer counts as killed by a hang, and is reported)")
	keep := flag.Bool("keep", false, "keep the scratch copy (its path is printed)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: go run ./tools/mutants [flags]\n\nApplies each named mutant of tools/mutants/list.go to a scratch copy of the repository and runs\nthe tests of its packages (go test -short). Exit 1 when a mutant survives, no longer applies or\ndoes not compile.\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	sel := mutants
	if *runFlag != "" {
		re, err := regexp.Compile(*runFlag)
		if err != nil {
			fail("-run: %v", err)
		}
		sel = slices.DeleteFunc(slices.Clone(mutants), func(m mutant) bool { return !re.MatchString(m.name) })
	}
	if *list {
		for _, m := range sel {
			fmt.Printf("%-40s %s\n    %s\n", m.name, m.file, m.why)
		}
		return
	}
	if len(sel) == 0 {
		fail("no mutant matches -run %q", *runFlag)
	}
	if err := checkNames(mutants); err != nil {
		fail("%v", err)
	}
	root, err := gitRoot()
	if err != nil {
		fail("%v", err)
	}
	scratch, err := os.MkdirTemp("", "mutants-")
	if err != nil {
		fail("%v", err)
	}
	if *keep {
		fmt.Fprintln(os.Stderr, "scratch copy:", scratch)
	} else {
		defer os.RemoveAll(scratch)
	}
	if err := copyTree(root, scratch); err != nil {
		fail("copying the repository: %v", err)
	}
	ctx := context.Background()
	start := time.Now()
	pkgs := packagesOf(sel)
	fmt.Printf("baseline: go test -short %s\n", strings.Join(pkgs, " "))
	if out, err := goTest(ctx, scratch, *timeout, pkgs); err != nil {
		fmt.Print(tail(out, 40))
		fail("the suite fails without any mutant: fix it first")
	}
	var bad []string
	for _, m := range sel {
		r := m.run(ctx, scratch, *timeout)
		fmt.Printf("%-9s %-40s %5.0fs  %s\n", r.verdict, m.name, r.took.Seconds(), r.detail)
		if r.verdict != killed {
			bad = append(bad, m.name)
			if r.output != "" {
				fmt.Print(indent(tail(r.output, 15)))
			}
		}
	}
	fmt.Printf("%d mutants in %v: %d killed", len(sel), time.Since(start).Round(time.Second), len(sel)-len(bad))
	if len(bad) > 0 {
		fmt.Printf(", %d not: %s\n", len(bad), strings.Join(bad, ", "))
		fmt.Println("A surviving mutant is a bug the tests let through: add a test that fails with it (see docs/testing.md).")
		os.Exit(1)
	}
	fmt.Println()
}

// mutant is one named bug: from must occur exactly once in file; to replaces it.
type mutant struct {
	name     string   // short and stable: what the bug does
	file     string   // path from the repository root
	from, to string   // the original text and the bug
	pkgs     []string // the packages whose tests must kill it
	why      string   // the truth it breaks
	// server: only a test on a real Temporal server catches it; tests (a go test -run pattern)
	// then names those tests, run without -short.
	server bool
	tests  string
}

const (
	killed     = "killed"
	survived   = "SURVIVED"
	stale      = "STALE"
	notCompile = "BROKEN"
)

type result struct {
	verdict, detail, output string
	took                    time.Duration
}

// run applies m in scratch, runs its packages' tests and restores the file.
func (m mutant) run(ctx context.Context, scratch string, timeout time.Duration) result {
	started := time.Now()
	path := filepath.Join(scratch, m.file)
	orig, err := os.ReadFile(path)
	if err != nil {
		return result{verdict: stale, detail: err.Error()}
	}
	if n := bytes.Count(orig, []byte(m.from)); n != 1 {
		return result{verdict: stale, detail: fmt.Sprintf("its original text occurs %d times in %s (want once): update the mutant to the code", n, m.file)}
	}
	if err := os.WriteFile(path, bytes.Replace(orig, []byte(m.from), []byte(m.to), 1), 0o644); err != nil {
		return result{verdict: stale, detail: err.Error()}
	}
	defer os.WriteFile(path, orig, 0o644)
	if out, err := goVet(ctx, scratch, m.pkgs); err != nil {
		return result{verdict: notCompile, detail: "the mutated code does not build", output: out, took: time.Since(started)}
	}
	var out string
	if m.server {
		out, err = command(ctx, scratch, timeout, append([]string{"test", "-count=1", "-failfast", "-run", m.tests}, m.pkgs...)...)
	} else {
		out, err = goTest(ctx, scratch, timeout, m.pkgs)
	}
	r := result{took: time.Since(started), output: out}
	switch {
	case err == nil:
		r.verdict, r.detail = survived, "every test of "+strings.Join(m.pkgs, " ")+" passed"
	case errors.Is(err, context.DeadlineExceeded):
		r.verdict, r.detail, r.output = killed, "by a hang (timeout)", ""
	default:
		r.verdict, r.detail, r.output = killed, "by "+strings.Join(failedTests(out), ", "), ""
	}
	return r
}

var failLine = regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)

// failedTests names the top-level tests that failed.
func failedTests(out string) []string {
	var names []string
	for _, m := range failLine.FindAllStringSubmatch(out, -1) {
		name, _, _ := strings.Cut(m[1], "/")
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return []string{"a failing package"}
	}
	return names
}

func goVet(ctx context.Context, dir string, pkgs []string) (string, error) {
	return command(ctx, dir, 0, append([]string{"vet"}, pkgs...)...)
}

func goTest(ctx context.Context, dir string, timeout time.Duration, pkgs []string) (string, error) {
	return command(ctx, dir, timeout, append([]string{"test", "-short", "-count=1", "-failfast"}, pkgs...)...)
}

func command(ctx context.Context, dir string, timeout time.Duration, args ...string) (string, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), ctx.Err()
	}
	return string(out), err
}

func packagesOf(ms []mutant) []string {
	var pkgs []string
	for _, m := range ms {
		for _, p := range m.pkgs {
			if !slices.Contains(pkgs, p) {
				pkgs = append(pkgs, p)
			}
		}
	}
	slices.Sort(pkgs)
	return pkgs
}

func checkNames(ms []mutant) error {
	seen := map[string]bool{}
	for _, m := range ms {
		switch {
		case seen[m.name]:
			return fmt.Errorf("two mutants are named %q", m.name)
		case m.name == "" || m.file == "" || m.from == "" || m.from == m.to || len(m.pkgs) == 0 || m.why == "":
			return fmt.Errorf("mutant %q: name, file, from, a different to, pkgs and why are all required", m.name)
		case m.server && m.tests == "":
			return fmt.Errorf("mutant %q: a server mutant names its tests", m.name)
		}
		seen[m.name] = true
	}
	return nil
}

func gitRoot() (string, error) {
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", fmt.Errorf("run it inside the repository: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// copyTree copies the files git knows of (tracked, and new ones not ignored) from root to dst.
func copyTree(root, dst string) error {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return err
	}
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		info, err := os.Lstat(filepath.Join(root, f))
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the work tree
		}
		if err != nil {
			return err
		}
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, f)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, info.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "mutants: "+format+"\n", a...)
	os.Exit(2)
}
