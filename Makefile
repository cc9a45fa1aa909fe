# vireo: out-of-tree virtio guest drivers.
#
#   make                      build every module for the running kernel (or KDIR=)
#   make KVER=6.1|6.12|debug  build against a kernel fetched into the cache
#   make KDIR=/path           build against any kernel build tree
#   make run                  boot a guest with vireo loaded (see README)
#   make check                the whole test suite over the matrix
#   make bench                vireo vs the in-tree drivers
#
# Builds for a cached kernel go to build/<KVER>/ so several kernels can be
# built side by side from one tree.

VIREO_CACHE ?= /var/cache/vireo
export VIREO_CACHE

ifneq ($(KVER),)
KDIR := $(VIREO_CACHE)/kernels/$(KVER)/build
OUT := $(CURDIR)/build/$(KVER)
else
KDIR ?= /lib/modules/$(shell uname -r)/build
OUT := $(CURDIR)
endif

SRC := Kbuild include drivers

.PHONY: all modules clean deps kernels run check bench userspace-test checkpatch sparse

all: modules

modules:
ifneq ($(KVER),)
	@test -d $(KDIR) || { if [ "$(KVER)" = debug ]; then scripts/build-debug-kernel; \
		else scripts/fetch-kernels $(KVER); fi >/dev/null; }
	@mkdir -p $(OUT)
	@cp -rsf $(addprefix $(CURDIR)/,$(SRC)) $(OUT)/
	$(MAKE) -C $(KDIR) M=$(OUT) W=1 modules
else
	$(MAKE) -C $(KDIR) M=$(OUT) W=1 modules
endif

sparse: modules
	$(MAKE) -C $(KDIR) M=$(OUT) C=2 CF="-D__CHECK_ENDIAN__" modules

clean:
	rm -rf build tests/ring/build
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true

deps:
	scripts/install-deps

kernels:
	scripts/fetch-kernels

userspace-test:
	$(MAKE) -C tests/ring

checkpatch:
	scripts/checkpatch

run:
	scripts/run

check:
	scripts/check

bench:
	scripts/bench
