module github.com/bucketed/sortedset

go 1.24
