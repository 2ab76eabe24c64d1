# kfp-argo build and test entry points. `make test` is what CI runs.
GO ?= go
BIN ?= bin/kfp-argo

.PHONY: build test lint fmt

build:
	$(GO) build -o $(BIN) ./cmd/kfp-argo

# test/argo4 is a module of its own (Argo v4.0.7 beside the product's v3.7.18): every compiled corpus workflow
# through Argo 4's types and validator.
test:
	$(GO) test -timeout 30m ./...
	cd test/argo4 && $(GO) test -timeout 30m ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd test/argo4 && $(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

-include hack/*.mk
