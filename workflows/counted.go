package workflows

import (
	lru "github.com/hashicorp/golang-lru/v2"
	"go.temporal.io/sdk/workflow"
)

// runSet remembers which runs' start and close a worker has counted. The SDK emits a workflow's
// metrics only when its code runs for the first time, not on replay; but a workflow task the
// server refuses (a signal came in while the closing task ran: Temporal then fails the task and
// the SDK runs its code again, now with the signal) is not replay, and would count a capture
// twice. It is bounded: a refused task is retried within seconds.
type runSet = lru.Cache[string, struct{}]

func newRunSet() *runSet {
	s, err := lru.New[string, struct{}](4096)
	if err != nil {
		panic(err) // only for a size ≤ 0
	}
	return s
}

// countOnce reports whether the worker runs step of the current run for the first time outside
// replay, and remembers it; without a set (CaptureWorkflow registered bare, as tests do) every
// first run counts. It only decides whether to emit metrics: nothing it returns reaches a
// command, so the history stays deterministic.
//
//workflowcheck:ignore metrics only: a worker-wide set that never reaches the history
func countOnce(ctx workflow.Context, s *runSet, step string) bool {
	if workflow.IsReplaying(ctx) {
		return false
	}
	if s == nil {
		return true
	}
	run := workflow.GetInfo(ctx).WorkflowExecution
	seen, _ := s.ContainsOrAdd(run.ID+"/"+run.RunID+"/"+step, struct{}{})
	return !seen
}
