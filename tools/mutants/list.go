package main

// mutants are the bugs the suite must catch: each a small change of a money-critical line, the
// packages whose tests must fail with it, and the truth it breaks. When a bug is fixed, add the
// bug here as a mutant, with the test that catches it (docs/testing.md).
var mutants = []mutant{
	// Payload encryption.
	{
		name: "codec-encrypts-with-the-oldest-key",
		file: "codec/codec.go",
		from: `	k := ks[0]`,
		to:   `	k := ks[len(ks)-1]`,
		pkgs: []string{"./codec/"},
		why:  "a rotation never takes effect: new payloads stay under the key being retired",
	},
	{
		name: "codec-server-without-token",
		file: "codec/server.go",
		from: `		if !byHeader && !byPath {`,
		to:   `		if !byHeader && byPath {`,
		pkgs: []string{"./codec/"},
		why:  "anyone who reaches the codec server decrypts every capture",
	},
	{
		name: "codec-server-path-token-any-prefix",
		file: "codec/server.go",
		from: `		byPath := subtle.ConstantTimeCompare([]byte(first), path) == 1`,
		to:   `		byPath := strings.HasPrefix(string(path), first)`,
		pkgs: []string{"./codec/"},
		why:  "a prefix of the token, or an empty path segment, opens the codec server",
	},
	// Inputs from any language; the census keeps what it knows.
	{
		name: "malformed-input-fails-the-task",
		file: "workflows/contract.go",
		from: `	in.malformed = fmt.Errorf("input does not decode: %w", err)
	return nil`,
		to: `	in.malformed = fmt.Errorf("input does not decode: %w", err)
	return in.malformed`,
		pkgs: []string{"./workflows/"},
		why:  "an input from another language with one malformed field fails the workflow task again and again instead of closing FAILED with the field named",
	},
	{
		name: "census-failure-blanks-the-latest",
		file: "workflows/census.go",
		from: `		} else {
			latest = s
		}`,
		to: `		}
		latest = s`,
		pkgs: []string{"./workflows/"},
		why:  "one failed census makes every worker export an empty census (no captures at risk) instead of the last one, whose age raises CaptureCensusFailing",
	},
	{
		name: "uncaptured-memo-is-the-whole-authorization",
		file: "workflows/workflow.go",
		from: `	left := w.l.units - w.l.captured()`,
		to:   `	left := w.l.units`,
		pkgs: []string{"./workflows/"},
		why:  "after a partial capture the census still counts the whole authorization at risk: the amount-at-risk gauges and alerts overstate it",
	},
	// Metrics the alerts read: a first event must be counted, once, and a gauge must say 0.
	{
		name: "close-counted-again-when-its-task-is-refused",
		file: "workflows/counted.go",
		from: `	seen, _ := s.ContainsOrAdd(run.ID+"/"+run.RunID+"/"+step, struct{}{})`,
		to:   `	seen := run.ID == "never"`,
		pkgs: []string{"./workflows/"},
		why:  "a notification arriving while a capture closes makes Temporal refuse the closing task; run again, it counts the capture twice or more: the success ratio and the money lapsed are wrong",
	},
	{
		name: "finished-series-born-at-first-capture",
		file: "internal/metrics/metrics.go",
		from: `				r.own[workflows.MetricFinished].counter.WithLabelValues(m, string(o), by)`,
		to:   `				_ = by`,
		pkgs: []string{"./internal/metrics/"},
		why:  "a finished capture's series appears at 1: Prometheus sees no increase, CaptureUnresolved never fires for the first UNRESOLVED and the success ratio is wrong",
	},
	{
		name: "workflow-counters-left-to-the-sdk",
		file: "internal/metrics/metrics.go",
		from: `	if f := h.own[name]; f != nil && f.counter != nil {`,
		to:   `	if f := h.own[name]; f != nil && f.timer != nil && f.counter != nil {`,
		pkgs: []string{"./internal/metrics/"},
		why:  "the workflow's counters go out with the SDK's tags as other series: the series created at 0 are never the ones counted",
	},
	{
		name: "webhook-refusals-born-at-first",
		file: "webhook/receiver/metrics.go",
		from: `		m.refused.WithLabelValues(r)`,
		to:   `		_ = r`,
		pkgs: []string{"./webhook/receiver/"},
		why:  "the first burst of refused notifications is invisible to increase(): WebhookRefusingNotifications stays silent",
	},
	{
		name: "census-forgets-pots",
		file: "internal/metrics/census.go",
		from: `			for p := range cs.AtRisk {
				c.pots[p] = true
			}`,
		to: `			clear(c.pots)
			for p := range cs.AtRisk {
				c.pots[p] = true
			}`,
		pkgs: []string{"./internal/metrics/"},
		why:  "an amount at risk that is gone vanishes instead of saying 0: the dashboard shows No data in a healthy system",
	},
	// The webhook receiver: acknowledge only once recorded; no false alerts.
	{
		name: "webhook-acks-unrecorded-contradiction",
		file: "webhook/receiver/receiver.go",
		from: `		log.Error("contradicting capture notification not recorded; Antom will resend", "err", err)
		h.unavailable(w, n)`,
		to: `		log.Error("contradicting capture notification not recorded; Antom will resend", "err", err)
		alipay.WriteAck(w)`,
		pkgs: []string{"./webhook/receiver/"},
		why:  "a contradiction the receiver failed to record is acknowledged: Antom stops resending and nobody ever sees it",
	},
	{
		name: "webhook-acks-undescribed-capture",
		file: "webhook/receiver/receiver.go",
		from: `		log.Error("capture notification for no running workflow, and the workflow cannot be read; Antom will resend", "err", err)
		h.unavailable(w, n)`,
		to: `		log.Error("capture notification for no running workflow, and the workflow cannot be read; Antom will resend", "err", err)
		alipay.WriteAck(w)`,
		pkgs: []string{"./webhook/receiver/"},
		why:  "a notification is acknowledged though the receiver could not tell whether it contradicts a closed capture",
	},
	{
		name: "webhook-acks-unreadable-final-status",
		file: "webhook/receiver/receiver.go",
		from: `		log.Error("capture notification for a finished capture whose final status cannot be read; Antom will resend", "err", err, "closedRunId", runID)
		h.unavailable(w, n)`,
		to: `		log.Error("capture notification for a finished capture whose final status cannot be read; Antom will resend", "err", err, "closedRunId", runID)
		alipay.WriteAck(w)`,
		pkgs: []string{"./webhook/receiver/"},
		why:  "a notification is acknowledged though the closed capture's final status was never compared with it",
	},
	{
		name: "webhook-running-taken-as-closed",
		file: "webhook/receiver/receiver.go",
		from: `	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {`,
		to:   `	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {`,
		pkgs: []string{"./webhook/receiver/"},
		why:  "a notification for a run started meanwhile is judged against a closed run instead of reaching the running one",
	},
	{
		name: "webhook-signals-without-merchant",
		file: "webhook/receiver/receiver.go",
		from: `workflows.Notification{Merchant: n.Merchant, CaptureNotification: *c}`,
		to:   `workflows.Notification{CaptureNotification: *c}`,
		pkgs: []string{"./webhook/receiver/"},
		why:  "the workflow cannot tell which merchant account's key verified the notification (rule 15)",
	},
	{
		name: "webhook-reconcile-without-merchant",
		file: "webhook/receiver/receiver.go",
		from: `workflows.ReconcileInput{Merchant: st.Merchant, Notification: *c`,
		to:   `workflows.ReconcileInput{Notification: *c`,
		pkgs: []string{"./webhook/receiver/"},
		why:  "a second account's contradiction is reconciled with the default account's keys: it can never be settled by inquiry",
	},
	{
		name: "webhook-other-merchant-closed-capture",
		file: "webhook/receiver/receiver.go",
		from: `	if workflows.MerchantName(st.Merchant) != workflows.MerchantName(n.Merchant) {`,
		to:   `	if false {`,
		pkgs: []string{"./webhook/receiver/"},
		why:  "a notification verified under account B is judged against account A's closed capture (rule 15)",
	},

	// Status.Agrees: the receiver's judgement of a late notification, record by record.
	{
		name: "agrees-judges-the-focus-record",
		file: "workflows/contract.go",
		from: `	rec, ok := st.Record(n.CaptureRequestID)
	if !ok {
		return n.Result.ResultStatus == alipay.StatusFail
	}`,
		to: `	rec, ok := st.Record(st.CaptureRequestID)
	if !ok {
		return n.Result.ResultStatus == alipay.StatusFail
	}`,
		pkgs: []string{"./workflows/"},
		why:  "a late F for another request of a CAPTURED authorization is taken as a contradiction (a false alert), and the reverse",
	},
	{
		name: "agrees-f-only-for-failed",
		file: "workflows/contract.go",
		from: `	return rec.State != StateCaptured && rec.State != StateUnresolved`,
		to:   `	return rec.State == StateFailed`,
		pkgs: []string{"./workflows/"},
		why:  "an F for an EXPIRED or CANCELLED capture is taken as a contradiction (a false alert)",
	},

	{
		name: "reconcile-never-confirms-a-capture",
		file: "workflows/reconcile.go",
		from: `	case n.Result.ResultStatus == alipay.StatusSuccess && captured:`,
		to:   `	case n.Result.ResultStatus == alipay.StatusSuccess && captured && in.ClosedState == StateCaptured:`,
		pkgs: []string{"./workflows/"},
		why:  "Antom's confirmed S for a capture closed EXPIRED or FAILED is reported as agreeing: money moved and nobody settles it",
	},

	// Merchant accounts (rule 15).
	{
		name: "inquiry-without-merchant",
		file: "workflows/send.go",
		from: `InquiryActivityInput{Merchant: w.in.Merchant, PaymentID: w.in.PaymentID, CaptureRequestID: rec.CaptureRequestID}`,
		to:   `InquiryActivityInput{PaymentID: w.in.PaymentID, CaptureRequestID: rec.CaptureRequestID}`,
		pkgs: []string{"./workflows/"},
		why:  "a second account's capture is inquired with the default account: its outcome is never found",
	},
	{
		name: "reconcile-inquiry-without-merchant",
		file: "workflows/reconcile.go",
		from: `InquiryActivityInput{Merchant: in.Merchant, PaymentID: n.PaymentID`,
		to:   `InquiryActivityInput{PaymentID: n.PaymentID`,
		pkgs: []string{"./workflows/"},
		why:  "a second account's contradiction is inquired with the default account: it can never be confirmed",
	},
	{
		name: "notification-of-another-merchant-applied",
		file: "workflows/notify.go",
		from: `	case MerchantName(n.Merchant) != w.merchant:`,
		to:   `	case false:`,
		pkgs: []string{"./workflows/"},
		why:  "a notification verified with account B's keys moves account A's capture (rule 15)",
	},

	// Notifications reach their record (rule 12).
	{
		name: "notification-f-applied-to-the-capture-in-flight",
		file: "workflows/notify.go",
		from: `	rec := w.l.byRequestID(n.CaptureRequestID)
	if rec == nil {`,
		to: `	rec := w.l.byRequestID(n.CaptureRequestID)
	if rec == nil && w.active != nil && status == alipay.StatusFail {
		rec = w.active
	}
	if rec == nil {`,
		pkgs: []string{"./workflows/"},
		why:  "an F for another request id of the same payment fails the capture in flight, which Antom may capture",
	},
	{
		name: "notification-routed-to-the-capture-in-flight",
		file: "workflows/notify.go",
		from: `	rec := w.l.byRequestID(n.CaptureRequestID)
	if rec == nil {`,
		to: `	rec := w.l.byRequestID(n.CaptureRequestID)
	if w.active != nil {
		rec = w.active
	}
	if rec == nil {`,
		pkgs: []string{"./workflows/"},
		why:  "a notification is matched with the capture in flight, not with its own request id",
	},
	{
		name: "contradiction-of-a-final-record-dropped",
		file: "workflows/notify.go",
		from: `	wasFinal := rec.State.Final()
`,
		to: `	wasFinal := rec.State.Final()
	if wasFinal {
		return false
	}
`,
		pkgs: []string{"./workflows/"},
		why:  "Antom's S for a capture recorded FAILED is acknowledged and dropped: money moved and the ledger says it did not (rule 12)",
	},
	{
		name: "notification-for-an-unknown-request-dropped",
		file: "workflows/notify.go",
		from: `		if status != alipay.StatusSuccess {
			w.log.Info("F notification for a capture request this authorization never sent`,
		to: `		if true {
			w.log.Info("F notification for a capture request this authorization never sent`,
		pkgs: []string{"./workflows/"},
		why:  "an S for a request id this authorization never sent (an earlier run's) is acknowledged and lost (rule 12)",
	},
	{
		name: "notification-ignored-during-the-send-series",
		file: "workflows/send.go",
		from: `func() bool { return fut.IsReady() || !rec.inFlight() }`,
		to:   `func() bool { return fut.IsReady() }`,
		pkgs: []string{"./workflows/"},
		why:  "a notification that settled the capture does not stop the resends of its series",
	},
	{
		name: "notifications-not-drained-at-close",
		file: "workflows/workflow.go",
		from: `		if !w.drain(ctx) {
			break
		}`,
		to:     `		break`,
		pkgs:   []string{"./workflows/"},
		why:    "a notification accepted while the run closes is never read (rule 12)",
		server: true, tests: "TestNotificationWhileTheRunCloses",
	},

	// The ledger (rules 9–13).
	{
		name: "deadline-capture-not-last",
		file: "workflows/guard.go",
		from: `CaptureRequest{Amount: w.l.amount(units), IsLastCapture: true, Key: "deadline"}`,
		to:   `CaptureRequest{Amount: w.l.amount(units), Key: "deadline"}`,
		pkgs: []string{"./workflows/"},
		why:  "the deadline's capture of the remainder does not close the authorization at Antom",
	},
	{
		name: "is-last-capture-not-sent",
		file: "workflows/send.go",
		from: `		req.IsLastCapture = alipay.Bool(rec.IsLastCapture)`,
		to:   `		req.IsLastCapture = nil`,
		pkgs: []string{"./workflows/"},
		why:  "isLastCapture is left to Antom's default, which one API documents as true: the first partial capture closes the authorization",
	},
	{
		name: "is-last-capture-ignored-by-the-ledger",
		file: "workflows/ledger.go",
		from: `		if !l.partial || r.IsLastCapture || l.units-l.captured() <= 0 {`,
		to:   `		if !l.partial || l.units-l.captured() <= 0 {`,
		pkgs: []string{"./workflows/"},
		why:  "the authorization stays open after its last capture, taking requests Antom will refuse",
	},
	{
		name: "any-partial-f-closes",
		file: "workflows/ledger.go",
		from: `		if l.partial || r.ResultCode == alipay.CodeMultiCaptureNotSupport || r.ResultCode == alipay.CodePaymentCountExceedLimit {
			return
		}`,
		to: `		if r.ResultCode == alipay.CodeMultiCaptureNotSupport || r.ResultCode == alipay.CodePaymentCountExceedLimit {
			return
		}`,
		pkgs: []string{"./workflows/"},
		why:  "one refused shipment of a partial-capture authorization ends it: the other shipments are never captured",
	},
	{
		name: "totals-count-the-requested-amount",
		file: "workflows/ledger.go",
		from: `	if u, err := r.CapturedAmount.MinorUnits(); err == nil && r.CapturedAmount.Currency == r.Amount.Currency {`,
		to:   `	if u, err := r.Amount.MinorUnits(); err == nil {`,
		pkgs: []string{"./workflows/"},
		why:  "the captured total counts what was asked, not what Antom captured",
	},
	{
		name: "unreadable-captured-amount-counts-zero",
		file: "workflows/ledger.go",
		from: `	u, _ := r.Amount.MinorUnits()
	return u
}`,
		to: `	return 0
}`,
		pkgs: []string{"./workflows/"},
		why:  "an S with an invalid or foreign-currency amount counts as 0: the remainder stays open for a second capture",
	},
	{
		name: "unsent-capture-reported-as-the-authorization",
		file: "workflows/ledger.go",
		from: `			r.apply(outcome{kind: outNotSent, message: "not sent: " + reason})`,
		to:   `			r.apply(outcome{kind: outSucceeded, message: "not sent: " + reason})`,
		pkgs: []string{"./workflows/"},
		why:  "a capture request never sent is reported CAPTURED",
	},
	{
		name: "request-id-ignores-the-key",
		file: "workflows/contract.go",
		from: `	sum := sha256.Sum256([]byte(strconv.Itoa(len(paymentID)) + ":" + paymentID + ":" + key))`,
		to:   `	sum := sha256.Sum256([]byte(strconv.Itoa(len(paymentID)) + ":" + paymentID + ":"))`,
		pkgs: []string{"./workflows/"},
		why:  "two shipments send the same request id: Antom's idempotency answers the second with the first's S (rule 10)",
	},
	{
		name: "request-id-from-a-counter",
		file: "workflows/ledger.go",
		from: `CaptureRequestID: CaptureRequestID(l.paymentID, req.Key)`,
		to:   `CaptureRequestID: CaptureRequestID(l.paymentID, strconv.Itoa(len(l.records)+1))`,
		pkgs: []string{"./workflows/"},
		why:  "a new run renumbers its captures and resends an earlier run's id for another shipment (rule 10)",
	},
	{
		name: "a-start-captures",
		file: "workflows/workflow.go",
		from: `	w.show(ctx)
	for !w.l.closed() {`,
		to: `	if len(w.l.records) == 0 {
		w.l.add(CaptureRequest{Amount: w.in.Amount, Key: StartKey, IsLastCapture: true})
	}
	w.show(ctx)
	for !w.l.closed() {`,
		pkgs: []string{"./workflows/"},
		why:  "a start captures the authorized amount by itself; a caller's capture request then captures again (rule 11)",
	},
	{
		name: "answer-after-close-ignores-the-key",
		file: "capture/capture.go",
		from: `	rec, ok := st.RecordOfKey(req.Key)`,
		to:   `	rec, ok := st.RecordOfKey(workflows.StartKey)`,
		pkgs: []string{"./capture/"},
		why:  "after the close, a request is answered with another key's capture (rule 13)",
	},
	{
		name: "answer-after-close-ignores-the-amount",
		file: "capture/capture.go",
		from: `	case rec.Amount != req.Amount:`,
		to:   `	case false:`,
		pkgs: []string{"./capture/"},
		why:  "after the close, the same key with another amount is told it was captured (rule 13)",
	},

	{
		name: "frozen-policy-default-changed",
		file: "workflows/policy.go",
		from: `		DeadlineMargin: 10 * time.Minute,`,
		to:   `		DeadlineMargin: 5 * time.Minute,`,
		pkgs: []string{"./workflows/"},
		why:  "a running capture started without a margin would move its cut-off on the next deploy: a default is frozen from the release on",
	},
	{
		name: "cancel-accepted-during-the-void",
		file: "workflows/guard.go",
		from: `w.voiding = true`,
		to:   `w.voiding = false`,
		pkgs: []string{"./workflows/"},
		why:  "a cancel accepted while the deadline's own void runs is never served: the run hangs (rule 14)",
	},

	// Notifications at the limits.
	{
		name: "notification-text-unbounded",
		file: "alipay/limits.go",
		from: `func (c *CaptureNotification) check() error {
	c.Result.bound()`,
		to:   `func (c *CaptureNotification) check() error {`,
		pkgs: []string{"./alipay/"},
		why:  "a signed 1 MiB resultMessage reaches the workflow's history and failure: Temporal terminates the capture",
	},
	{
		name: "notification-ids-unchecked",
		file: "alipay/limits.go",
		from: `	if err := CheckID("paymentId", c.PaymentID); err != nil {`,
		to:   `	if err := CheckID("paymentId", c.PaymentID); false && err != nil {`,
		pkgs: []string{"./alipay/"},
		why:  "a paymentId gRPC cannot carry is answered 503 forever and pages on-call for a healthy Temporal",
	},
	{
		name: "response-text-unbounded",
		file: "alipay/limits.go",
		from: `func (r *CaptureResponse) check() error {
	r.Result.bound()`,
		to:   `func (r *CaptureResponse) check() error {`,
		pkgs: []string{"./alipay/"},
		why:  "an oversized answer reaches the capture activity's result and the history",
	},
	{
		name: "workflow-takes-unbounded-signals",
		file: "workflows/notify.go",
		from: `	n.CaptureNotification = n.Bounded()`,
		to:   `	_ = n.Bounded()`,
		pkgs: []string{"./workflows/"},
		why:  "a notification signalled by another sender than the webhook outgrows the status and the result",
	},
	{
		name: "resends-always-signalled",
		file: "webhook/receiver/receiver.go",
		from: `	return st.Agrees(*c)
}`,
		to: `	return false
}`,
		pkgs: []string{"./webhook/receiver/"},
		why:  "every resend of a notification the capture holds adds to its history, until Temporal terminates it",
	},
	{
		name: "resend-skipped-while-in-flight",
		file: "webhook/receiver/receiver.go",
		from: `ok && !rec.State.Final() {`,
		to:   `ok && rec.State == "" {`,
		pkgs: []string{"./webhook/receiver/"},
		why:  "a resend is acknowledged without a signal though the capture has not applied it",
	},
	{
		name: "agrees-ignores-the-amount",
		file: "workflows/contract.go",
		from: `		return rec.State == StateCaptured && rec.CapturedAmount == n.CaptureAmount`,
		to:   `		return rec.State == StateCaptured`,
		pkgs: []string{"./workflows/", "./webhook/receiver/"},
		why:  "an S for another amount than a closed capture holds is acknowledged as agreeing: a discrepancy nobody sees",
	},
	{
		name: "contradicting-amount-of-a-captured-record-ignored",
		file: "workflows/ledger.go",
		from: `	case o.kind == outSucceeded && r.State == StateCaptured && o.amount != r.CapturedAmount && r.Contradiction == "":`,
		to:   `	case false:`,
		pkgs: []string{"./workflows/"},
		why:  "Antom's S for another amount than a CAPTURED record holds is dropped while the authorization is open",
	},
	{
		name: "notify-type-label-unbounded",
		file: "webhook/receiver/metrics.go",
		from: `	return otherNotifyType`,
		to:   `	return t`,
		pkgs: []string{"./webhook/receiver/"},
		why:  "every invented notifyType grows /metrics for good",
	},

	// Antom's answers and the events.
	{
		name: "response-client-id-unchecked",
		file: "alipay/client.go",
		from: `	if got := r.Header().Get(headerClientID); got != c.clientID {`,
		to:   `	if got := r.Header().Get(headerClientID); false && got != c.clientID {`,
		pkgs: []string{"./alipay/"},
		why:  "an answer signed for another Client-Id is taken as Antom's answer to this merchant",
	},
	{
		name: "event-required-fields-unchecked",
		file: "events/events.go",
		from: `	if e.ID == "" || e.Type == "" || e.PaymentID == "" {`,
		to:   `	if false {`,
		pkgs: []string{"./events/"},
		why:  "a merchant's receiver acts on a signed body that is not a capture event",
	},
	{
		name: "event-body-unbounded",
		file: "events/events.go",
		from: `	if len(body) > MaxBody {`,
		to:   `	if false {`,
		pkgs: []string{"./events/"},
		why:  "a merchant's receiver reads and verifies bodies of any size",
	},
	{
		name: "close-without-handing-over-events",
		file: "workflows/workflow.go",
		from: `		w.awaitEvents(ctx)
`,
		to:     ``,
		pkgs:   []string{"./workflows/"},
		why:    "the run closes before Temporal holds its last events: they are lost with the run",
		server: true, tests: "TestEventsOnRealServer",
	},
	{
		name: "f-after-ambiguous-send-final",
		file: "workflows/send.go",
		from: `		if rec.ambiguous || attempt > 1 {`,
		to:   `		if attempt < 0 {`,
		pkgs: []string{"./workflows/"},
		why:  "an F after a send with an unknown outcome is taken as final though the first send may have captured (rule 2)",
	},
}
