.PHONY: run test unit build

run:
	go run ./zaqar-server

test:
	./scripts/test

# The fast inner loop: embedded and memory stores only, no external servers.
unit:
	go test ./...

build:
	go build -o bin/zaqar-server ./zaqar-server
