package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/capturekit/alipay-capture/internal/stack"
)

// faultLog records the faults injected, with their times.
type faultLog struct {
	mu   sync.Mutex
	list []faultEntry
}

type faultEntry struct {
	at   time.Time
	what string
}

func (f *faultLog) add(format string, a ...any) {
	e := faultEntry{at: time.Now(), what: fmt.Sprintf(format, a...)}
	say("fault: %s", e.what)
	f.mu.Lock()
	f.list = append(f.list, e)
	f.mu.Unlock()
}

func (f *faultLog) entries() []faultEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]faultEntry(nil), f.list...)
}

// injectFaults kills the worker every killMin–killMax until done is closed (a fresh one starts at
// once), and once each restarts Temporal (40 % into the load) and kills the webhook (60 %).
func injectFaults(ctx context.Context, st *stack.Stack, o options, r *rand.Rand, log *faultLog, done <-chan struct{}) error {
	load := time.Duration(float64(o.payments) / o.rate * float64(time.Second))
	begin := time.Now()
	temporalAt, webhookAt := begin.Add(load*4/10), begin.Add(load*6/10)
	temporalDone, webhookDone := !o.restartTemporal, !o.killWebhook
	kills := 0
	nextKill := begin.Add(o.killMin + time.Duration(r.Int64N(int64(o.killMax-o.killMin)+1)))
	for {
		wait := time.Until(nextKill)
		if !temporalDone {
			wait = min(wait, time.Until(temporalAt))
		}
		if !webhookDone {
			wait = min(wait, time.Until(webhookAt))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-done:
			return nil
		case <-time.After(max(wait, 0)):
		}
		now := time.Now()
		switch {
		case !temporalDone && !now.Before(temporalAt):
			temporalDone = true
			log.add("Temporal stopped")
			if err := st.StopTemporal(); err != nil {
				return fmt.Errorf("stopping Temporal: %w", err)
			}
			time.Sleep(5 * time.Second)
			if err := st.StartTemporal(ctx); err != nil {
				return fmt.Errorf("restarting Temporal: %w", err)
			}
			log.add("Temporal started again on the same database")
		case !webhookDone && !now.Before(webhookAt):
			webhookDone = true
			st.KillWebhook()
			log.add("webhook killed (SIGKILL)")
			time.Sleep(3 * time.Second)
			st.StartWebhook()
			log.add("webhook started again")
		case !now.Before(nextKill) && (o.maxKills == 0 || kills < o.maxKills):
			kills++
			st.KillWorker()
			st.StartWorker()
			log.add("worker killed (SIGKILL, #%d); a fresh one started", kills)
			nextKill = now.Add(o.killMin + time.Duration(r.Int64N(int64(o.killMax-o.killMin)+1)))
		case !now.Before(nextKill):
			nextKill = now.Add(time.Hour) // kills used up
		}
	}
}
