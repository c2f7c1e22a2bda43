package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The census of running captures (the amounts-at-risk gauges) is taken once per interval for
// the whole deployment: a Temporal Schedule starts CensusWorkflow, whose activity lists the
// running captures; every worker exports the latest result instead of listing them itself.
const (
	// CensusScheduleID is the id of the schedule that takes the census.
	CensusScheduleID = "alipay-capture-census"
	// CensusWorkflowType is the registered name of CensusWorkflow.
	CensusWorkflowType = "CaptureCensusWorkflow"
	// ActivityCensus lists the running captures (activities.Activities.Census).
	ActivityCensus = "Census"
)

// PotAmount is an amount at risk of one merchant account in one currency, in minor units.
type PotAmount struct {
	Merchant string `json:"merchant"`
	Currency string `json:"currency"`
	Value    string `json:"value"`
}

// CensusSnapshot is one census of the running captures (capture.Census, as a workflow result).
type CensusSnapshot struct {
	At                 time.Time     `json:"at"`
	Window             time.Duration `json:"window"`
	Running            int           `json:"running"`
	Unknown            int           `json:"unknown"`
	Overdue            int           `json:"overdue"`
	NearDeadline       int           `json:"nearDeadline"`
	AtRisk             []PotAmount   `json:"atRisk,omitempty"`
	AtRiskNearDeadline []PotAmount   `json:"atRiskNearDeadline,omitempty"`
	// ListCalls counts the visibility listings (pages) the census took.
	ListCalls int `json:"listCalls"`
}

// CensusWorkflow takes one census of the running captures.
func CensusWorkflow(ctx workflow.Context) (CensusSnapshot, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
	})
	var s CensusSnapshot
	err := workflow.ExecuteActivity(ctx, ActivityCensus).Get(ctx, &s)
	return s, err
}
