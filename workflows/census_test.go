package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/capturekit/alipay-capture/activities"
	"github.com/capturekit/alipay-capture/workflows"
)

// censusEnv returns a test environment of the census workflow whose n-th census (from 1) counts n
// captures running at the time it is taken, or fails with fail(n); and the number taken so far.
func censusEnv(fail func(n int) error) (*testsuite.TestWorkflowEnvironment, *int) {
	env := newEnv()
	env.SetStartTime(t0)
	workflows.RegisterWith(env, workflows.Options{})
	env.RegisterActivity(&activities.Activities{})
	calls := 0
	env.OnActivity(workflows.ActivityCensus, mock.Anything).Return(func(context.Context) (workflows.CensusSnapshot, error) {
		calls++
		if err := fail(calls); err != nil {
			return workflows.CensusSnapshot{}, err
		}
		return workflows.CensusSnapshot{At: env.Now(), Running: calls}, nil
	})
	return env, &calls
}

// TestCensusWorkflowKeepsTheLatest: the census workflow takes a census every interval and answers
// the latest to its query; a census that fails leaves the previous one standing, whose age
// tells the readers.
func TestCensusWorkflowKeepsTheLatest(t *testing.T) {
	env, _ := censusEnv(func(calls int) error {
		if calls == 2 {
			return errors.New("visibility unavailable")
		}
		return nil
	})
	latest := func() workflows.CensusSnapshot {
		v, err := env.QueryWorkflow(workflows.QueryCensus)
		if err != nil {
			t.Fatal(err)
		}
		var s workflows.CensusSnapshot
		if err := v.Get(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	var seen []workflows.CensusSnapshot
	for _, at := range []time.Duration{5 * time.Second, 20 * time.Second, 35 * time.Second} {
		env.RegisterDelayedCallback(func() { seen = append(seen, latest()) }, at)
	}
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, 40*time.Second)
	env.ExecuteWorkflow(workflows.CensusWorkflowType, workflows.CensusInput{Every: 15 * time.Second})
	if len(seen) != 3 {
		t.Fatalf("%d queries answered", len(seen))
	}
	// t=0 census 1; t=15s census 2 fails (1 stands); t=30s census 3.
	for i, want := range []struct {
		running int
		at      time.Duration
	}{{1, 0}, {1, 0}, {3, 30 * time.Second}} {
		if seen[i].Running != want.running || !seen[i].At.Equal(t0.Add(want.at)) {
			t.Errorf("query %d: running %d at %v, want %d at +%v", i+1, seen[i].Running, seen[i].At, want.running, want.at)
		}
	}
}

// TestCensusWorkflowContinuesAsNew: once its history is long, the census workflow continues
// as new with its interval and the latest census, so that the query never goes blank (how many
// censuses a run holds is measured on a real server: TestCensusWorkflow).
func TestCensusWorkflowContinuesAsNew(t *testing.T) {
	env, censuses := censusEnv(func(int) error { return nil })
	env.RegisterDelayedCallback(func() { env.SetCurrentHistoryLength(10_000) }, 50*time.Second)
	env.ExecuteWorkflow(workflows.CensusWorkflowType, workflows.CensusInput{Every: 15 * time.Second})
	var next *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &next) {
		t.Fatalf("%v, want a continue-as-new", err)
	}
	var in workflows.CensusInput
	if err := converter.GetDefaultDataConverter().FromPayloads(next.Input, &in); err != nil || *censuses != 4 || in.Latest.Running != 4 || in.Every != 15*time.Second {
		t.Errorf("after %d censuses the next run gets %+v (%v), want the latest census (4) and the interval", *censuses, in, err)
	}
}
