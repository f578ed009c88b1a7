# The README's commands. `make test` is what CI runs after installing
# Chromium; every step prints what it is doing.

GO ?= go
MODULES := . cmd benchmarks internal/asmgen
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: demo test fmt vet unit race purego fuzz-replay asm-check bench-smoke

demo:
	$(GO) run -C cmd ./guildd -demo

test: fmt vet unit race purego fuzz-replay asm-check bench-smoke
	@echo "== all checks passed"

fmt:
	@echo "== gofmt"
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	@for m in $(MODULES); do echo "== go vet ($$m)"; (cd $$m && $(GO) vet ./...) || exit 1; done
	@echo "== go vet, GOOS=windows and darwin (library, cmd: guildd builds without writev)"
	GOOS=windows $(GO) vet ./... && cd cmd && GOOS=windows $(GO) vet ./... && GOOS=darwin $(GO) vet ./...
	@echo "== go vet, GOARCH=386 (library: int is 32 bits there)"
	GOARCH=386 $(GO) vet ./...
	@for m in $(MODULES); do echo "== staticcheck ($$m)"; (cd $$m && $(GO) run $(STATICCHECK) ./...) || exit 1; done

unit:
	@echo "== go test (library, full property tests)"
	$(GO) test -count=1 ./...

# The race detector slows the property tests fifteenfold, so the library's
# race run uses their -short sizes.
race:
	@echo "== go test -race -short (library)"
	$(GO) test -race -short -count=1 ./...
	@echo "== go test -race (cmd: guildd, guildload, web page)"
	cd cmd && $(GO) test -race -count=1 -timeout 15m ./...

purego:
	@echo "== go test -tags purego (library, pure-Go kernels)"
	$(GO) test -tags purego -count=1 ./...

fuzz-replay:
	@echo "== fuzz targets: replay the seed corpora"
	$(GO) test -count=1 -run '^Fuzz' ./...
	cd cmd && $(GO) test -count=1 -run '^Fuzz' ./...

asm-check:
	@echo "== regenerate the assembly and compare"
	$(GO) generate ./...
	@git diff --exit-code -- '*.s' 'bucket_stub_amd64.go' || { echo "generated assembly differs from the committed one"; exit 1; }

bench-smoke:
	@echo "== benchmarks compile and run once"
	$(GO) test -run '^$$' -bench '/n=1k/' -benchtime 1x ./...
	cd benchmarks && $(GO) test -run '^$$' -bench '/n=1k/' -benchtime 1x ./...
