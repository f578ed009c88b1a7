module github.com/bucketed/sortedset/cmd

go 1.25.0

replace github.com/bucketed/sortedset => ../

require github.com/stretchr/testify v1.12.1

require go.yaml.in/yaml/v3 v3.0.5 // indirect
