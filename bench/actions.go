package main

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// cloudActions are the Temporal Cloud actions one workflow's history shows, by kind, counted as
// https://docs.temporal.io/cloud/actions bills them: a start; each activity attempt; each timer;
// each signal; each accepted update; each search-attribute upsert, except one that only sets
// TemporalChangeVersion (the versioning marker's, exempt); side-effect and local-activity
// markers, once per workflow task. Queries (e.g. `starter status`) and heartbeats are billed too
// but leave no event; the capture workflow's activities do not heartbeat.
type cloudActions struct {
	starts, activities, timers, signals, updates, upserts, markers int
}

func (a cloudActions) total() int {
	return a.starts + a.activities + a.timers + a.signals + a.updates + a.upserts + a.markers
}

func (a cloudActions) String() string {
	s := fmt.Sprintf("%d: start %d, activities %d, timers %d, signals %d, updates %d, upserts %d",
		a.total(), a.starts, a.activities, a.timers, a.signals, a.updates, a.upserts)
	if a.markers > 0 {
		s += fmt.Sprintf(", side effects %d", a.markers)
	}
	return s
}

// countActions reads a workflow's history and counts its billable actions.
func countActions(ctx context.Context, tc client.Client, workflowID string) (cloudActions, error) {
	var a cloudActions
	markerTasks := map[int64]bool{}
	it := tc.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return a, err
		}
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			a.starts++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			a.activities += int(max(1, e.GetActivityTaskStartedEventAttributes().GetAttempt()))
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			a.timers++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			a.signals++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			a.updates++
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			fields := e.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()
			if _, versionOnly := fields["TemporalChangeVersion"]; !(versionOnly && len(fields) == 1) {
				a.upserts++
			}
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			m := e.GetMarkerRecordedEventAttributes()
			if name := m.GetMarkerName(); name == "SideEffect" || name == "MutableSideEffect" || name == "LocalActivity" {
				if task := m.GetWorkflowTaskCompletedEventId(); !markerTasks[task] {
					markerTasks[task] = true
					a.markers++
				}
			}
		}
	}
	return a, nil
}
