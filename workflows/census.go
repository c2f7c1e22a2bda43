package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The census of running captures (the amounts-at-risk gauges) is kept by one workflow for the
// whole deployment: CensusWorkflow lists the running captures every interval with a local
// activity and answers the latest census to the QueryCensus query, so every worker exports
// that census instead of listing the captures itself. Being one long run (continued as new
// when its history grows), it shows as one entry in the Web UI's workflow list, not one per
// census.
const (
	// CensusWorkflowID is the id of the workflow that keeps the census.
	CensusWorkflowID = "capture-census"
	// CensusWorkflowType is the registered name of CensusWorkflow.
	CensusWorkflowType = "CaptureCensus"
	// QueryCensus answers the latest census (a CensusSnapshot; zero At before the first).
	QueryCensus = "census"
	// ActivityCensus lists the running captures (activities.Activities.Census), as a local
	// activity of CensusWorkflow.
	ActivityCensus = "Census"
	// LegacyCensusScheduleID is the schedule that took the census one workflow at a time
	// before CensusWorkflow; workers delete it.
	LegacyCensusScheduleID = "alipay-capture-census"
	// legacyCensusWorkflowType is the workflow that schedule started.
	legacyCensusWorkflowType = "CaptureCensusWorkflow"
)

// censusHistoryLimit is the history length after which CensusWorkflow continues as new: about
// 1,600 censuses (7 h at the default 15 s), so a few runs a day, each quick to replay.
const censusHistoryLimit = 10_000

// CensusInput is CensusWorkflow's input: the interval, and the census a run continued as new
// hands to the next, so that the query never goes blank.
type CensusInput struct {
	Every  time.Duration  `json:"every"`
	Latest CensusSnapshot `json:"latest,omitzero"`
}

// PotAmount is an amount at risk of one merchant account in one currency, in minor units.
type PotAmount struct {
	Merchant string `json:"merchant"`
	Currency string `json:"currency"`
	Value    string `json:"value"`
}

// CensusSnapshot is one census of the running captures (capture.Census, as the census query answers it).
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

// CensusWorkflow keeps the census: every in.Every it takes one with a local activity (a failed
// census keeps the previous one, whose age the readers judge), until its history reaches
// censusHistoryLimit and it continues as new.
func CensusWorkflow(ctx workflow.Context, in CensusInput) error {
	if in.Every < time.Second {
		return temporal.NewNonRetryableApplicationError("census interval "+in.Every.String()+": want at least 1s", ErrTypeInvalidInput, nil)
	}
	latest := in.Latest
	if err := workflow.SetQueryHandler(ctx, QueryCensus, func() (CensusSnapshot, error) { return latest, nil }); err != nil {
		return err
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1}, // the next interval is the retry
	})
	for workflow.GetInfo(ctx).GetCurrentHistoryLength() < censusHistoryLimit {
		var s CensusSnapshot
		if err := workflow.ExecuteLocalActivity(lctx, ActivityCensus).Get(ctx, &s); err != nil {
			workflow.GetLogger(ctx).Warn("capture census failed; the previous one stands", "err", err)
		} else {
			latest = s
		}
		if err := workflow.Sleep(ctx, in.Every); err != nil {
			return err
		}
	}
	return workflow.NewContinueAsNewError(ctx, CensusWorkflowType, CensusInput{Every: in.Every, Latest: latest})
}

// legacyCensusWorkflow takes one census, as the runs of LegacyCensusScheduleID did: registered
// so that a run that schedule started just before an upgrade still completes.
func legacyCensusWorkflow(ctx workflow.Context) (CensusSnapshot, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
	})
	var s CensusSnapshot
	err := workflow.ExecuteActivity(ctx, ActivityCensus).Get(ctx, &s)
	return s, err
}
