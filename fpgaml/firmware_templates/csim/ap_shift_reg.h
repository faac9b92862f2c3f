// fpgaml: C-simulation-only replacement for ap_types/ap_shift_reg.h (a ring buffer).
//
// hls4ml's io_stream convolution and pooling line buffers are ap_shift_reg objects. The C-simulation
// model that ships with the ap_types moves every element on every shift (O(depth) copies per pixel and
// channel); this one moves an index instead (O(1)). The observable behaviour is the same: shift() returns
// the element at logical address Addr before the shift, then (if Enable) the queue moves by one with
// DataIn at address 0; read() returns the element at logical address Addr. fpgaml compiles its
// C-simulation library with this header from a private copy of the firmware; the generated project keeps
// the original, and HLS synthesis uses the vendor's own.
#ifndef __SIM_AP_SHIFT_REG_H__
#define __SIM_AP_SHIFT_REG_H__

#ifndef __cplusplus
#error C++ is required to include this header file
#else

#include <cassert>

template <typename __SHIFT_T__, unsigned int __SHIFT_DEPTH__ = 32> class ap_shift_reg {
  public:
    ap_shift_reg() : Head(0) {}
    ap_shift_reg(const char *name) : Head(0) {}
    virtual ~ap_shift_reg() {}

  private:
    ap_shift_reg(const ap_shift_reg<__SHIFT_T__, __SHIFT_DEPTH__> &shreg) : Head(0) {
        for (unsigned i = 0; i < __SHIFT_DEPTH__; ++i)
            Array[i] = shreg.read(i);
    }
    ap_shift_reg &operator=(const ap_shift_reg<__SHIFT_T__, __SHIFT_DEPTH__> &shreg) {
        __SHIFT_T__ tmp[__SHIFT_DEPTH__];
        for (unsigned i = 0; i < __SHIFT_DEPTH__; ++i)
            tmp[i] = shreg.read(i);
        for (unsigned i = 0; i < __SHIFT_DEPTH__; ++i)
            Array[i] = tmp[i];
        Head = 0;
        return *this;
    }

    unsigned int phys(unsigned int Addr) const {
        unsigned int p = Head + Addr;
        return p >= __SHIFT_DEPTH__ ? p - __SHIFT_DEPTH__ : p;
    }

  public:
    // Shift the queue, push to back and read from a given address.
    __SHIFT_T__ shift(__SHIFT_T__ DataIn, unsigned int Addr = __SHIFT_DEPTH__ - 1, bool Enable = true) {
        assert(Addr < __SHIFT_DEPTH__ && "Out-of-bound shift is found in ap_shift_reg.");
        __SHIFT_T__ ret = Array[phys(Addr)];
        if (Enable) {
            Head = Head == 0 ? __SHIFT_DEPTH__ - 1 : Head - 1;
            Array[Head] = DataIn;
        }
        return ret;
    }

    // Read from a given address.
    __SHIFT_T__ read(unsigned int Addr = __SHIFT_DEPTH__ - 1) const {
        assert(Addr < __SHIFT_DEPTH__ && "Out-of-bound read is found in ap_shift_reg.");
        return Array[phys(Addr)];
    }

  protected:
    __SHIFT_T__ Array[__SHIFT_DEPTH__];
    unsigned int Head; // physical index of logical address 0
};

#endif // __cplusplus
#endif // __SIM_AP_SHIFT_REG_H__
