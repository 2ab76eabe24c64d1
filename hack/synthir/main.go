// Command synthir prints a synthetic SDK-style KFP pipeline spec (see package translate/synthir):
//
//	go run ./hack/synthir -tasks 1000 -seed 1 > /tmp/p1000.yaml
package main

import (
	"flag"
	"os"

	"github.com/kfp-argo/kfp-argo/translate/synthir"
)

func main() {
	var o synthir.Options
	flag.IntVar(&o.Tasks, "tasks", 100, "executor tasks")
	flag.Int64Var(&o.Seed, "seed", 1, "random mix")
	flag.IntVar(&o.Functions, "functions", 1, "distinct Python functions of each kind")
	flag.Parse()
	if _, err := os.Stdout.Write(synthir.GenerateWith(o)); err != nil {
		os.Exit(1)
	}
}
