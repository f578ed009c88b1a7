module github.com/bucketed/sortedset

go 1.24.0

require (
	github.com/klauspost/cpuid/v2 v2.4.2
	github.com/leanovate/gopter v0.2.11
	github.com/stretchr/testify v1.12.1
)

require (
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.41.0 // indirect
)
