# The two commands of README.md, and the steps they are made of.
.PHONY: demo test build tools

demo:            ## install what is missing, build, start certgate with demo data
	bash scripts/demo.sh

test:            ## install what is missing, build, run every test (unit, integration, browser)
	bash scripts/test.sh

build:           ## build target/release/certgate with the site embedded
	bash scripts/install-tools.sh
	bash scripts/build.sh

tools:           ## install the build and test tools that are missing
	bash scripts/install-tools.sh
