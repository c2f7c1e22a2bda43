package workflows

import (
	"slices"
	"testing"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// TestARunCountsOnce: a worker counts each step of a run once, however often the code runs
// outside replay (as it does when Temporal refuses the closing task for a signal that came in),
// and without a set every run counts.
func TestARunCountsOnce(t *testing.T) {
	s := newRunSet()
	env := (&testsuite.WorkflowTestSuite{}).NewTestWorkflowEnvironment()
	env.ExecuteWorkflow(func(ctx workflow.Context) ([]bool, error) {
		return []bool{countOnce(ctx, s, "finish"), countOnce(ctx, s, "finish"), countOnce(ctx, s, "start"), countOnce(ctx, nil, "finish")}, nil
	})
	var got []bool
	if err := env.GetWorkflowResult(&got); err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, false, true, true}; !slices.Equal(got, want) {
		t.Errorf("counted %v, want %v (finish, finish again, start, finish without a set)", got, want)
	}
}
