package dev.panamann.ops.dnnl;


import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panamann.testutil.Backs;
import org.junit.jupiter.api.Test;

class DnnlTest {
    /**
     * The op-descriptor sizes {@link Dnnl} computes by hand (the generated struct classes of
     * these two cannot be loaded) match sizeof() in the oneDNN 2.6 headers on x86-64 Linux.
     */
    @Test
    void opDescriptorSizesMatchTheCHeaders() {
        Backs.nativeOps();
        assertEquals(5976, Dnnl.CONVOLUTION_DESC_BYTES, "sizeof(dnnl_convolution_desc_t)");
        assertEquals(3192, Dnnl.POOLING_DESC_BYTES, "sizeof(dnnl_pooling_desc_t)");
    }
}
