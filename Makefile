# kfp-argo build and test entry points. `make test` is what CI runs.
GO ?= go
BIN ?= bin/kfp-argo

.PHONY: build test lint fmt

build:
	$(GO) build -o $(BIN) ./cmd/kfp-argo

test:
	$(GO) test ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

-include hack/*.mk
