package temporaltest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/capturekit/alipay-capture/internal/temporaltest"
)

// TestClusterSaysHowToGetPostgres: a PostgreSQL that cannot be reached is an error that names the
// variable and how to start one, not a skip.
func TestClusterSaysHowToGetPostgres(t *testing.T) {
	for url, want := range map[string][]string{
		"postgres://postgres:hunter2@127.0.0.1:1/postgres": {"PostgreSQL is not reachable at 127.0.0.1:1", temporaltest.EnvPostgres, "service postgresql start"},
		"mysql://127.0.0.1:3306/temporal":                  {temporaltest.EnvPostgres, "want a URL like " + temporaltest.DefaultPostgres},
	} {
		_, err := temporaltest.StartCluster(context.Background(), temporaltest.ClusterOptions{Dir: t.TempDir(), Postgres: url})
		if err == nil {
			t.Fatalf("%s: started", url)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v; want it to say %q", url, err, w)
			}
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}
