package deploy_test

import (
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

func TestParse(t *testing.T) { _, _ = parser.ParseExpr("up") }
