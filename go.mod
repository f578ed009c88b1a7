module github.com/bucketed/sortedset

go 1.24

require github.com/leanovate/gopter v0.2.11
