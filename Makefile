# The front door. `make run` is the local end-to-end demo; `make test` is what CI runs.
SHELL := /bin/bash
GO ?= go
# Test timeout for the whole suite; CI must finish well inside 20 minutes on 2 cores.
TEST_TIMEOUT ?= 15m
# The CLI is built with the workload image's build configuration (internal/imagebuild: CGOEnabled,
# GoFlags), so the workload build inside `make run`/`make image` reuses every compiled package
# and only compiles its main package and links. internal/imagebuild's tests hold these lines to it.
CLI := CGO_ENABLED=0 $(GO) run -trimpath -buildvcs=false ./cmd/cspipe

.PHONY: run test deps bench lint image deploy destroy fmt

run:
	$(CLI) demo $(DEMO_FLAGS)

deps:
	bash scripts/deps.sh

test: deps
	bash scripts/test.sh

bench: deps
	bash scripts/bench.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

image:
	$(CLI) image build $(if $(REGISTRY),--push $(REGISTRY),)

deploy:
	PRIMUS_PROJECT_ID=$(PRIMUS_PROJECT_ID) SECUNDUS_PROJECT_ID=$(SECUNDUS_PROJECT_ID) bash infra/deploy.sh apply

destroy:
	PRIMUS_PROJECT_ID=$(PRIMUS_PROJECT_ID) SECUNDUS_PROJECT_ID=$(SECUNDUS_PROJECT_ID) bash infra/deploy.sh destroy
