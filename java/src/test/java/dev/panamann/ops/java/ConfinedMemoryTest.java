package dev.panamann.ops.java;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.ops.BatchNormOp;
import dev.panamann.ops.Conv2dOp;
import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.Pool2dOp;
import dev.panamann.ops.PoolGeometry;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The Java backend on 2 threads with tensors in memory confined to the calling thread (which its
 * pool's threads may not touch): the products, the convolution, the pooling and the batch norm
 * run on the caller instead of failing with a {@code WrongThreadException}, with the results of
 * the same calls on shared memory, to the bit (the same split of the work, run in turn).
 */
class ConfinedMemoryTest {

    @Test
    void opsOnConfinedMemoryRunOnTheCallerWithTheSameResults() {
        try (JavaOps ops = new JavaOps(2); Arena confined = Arena.ofConfined()) {
            assertFalse(JavaOps.shareable(confined.allocate(4)));
            assertTrue(JavaOps.shareable(Arena.global().allocate(4)));
            assertTrue(JavaOps.shareable(null));
            Rng rng = new Rng(3);
            Function<Tensor, Tensor> inConfined = t -> {
                Tensor c = Tensor.wrap(confined.allocate(t.segment().byteSize(), 64), t.shape());
                c.segment().copyFrom(t.segment());
                return c;
            };
            // a product large enough to be split over the pool (m n k >= 200000)
            try (Tensor a = Tensor.randn(rng, 1f, 64, 200); Tensor b = Tensor.randn(rng, 1f, 200, 50);
                 Tensor c = Tensor.zeros(64, 50)) {
                ops.gemm(false, false, 64, 50, 200, 1f, a, b, 0f, c);
                Tensor cc = inConfined.apply(c);
                cc.fill(0f);
                ops.gemm(false, false, 64, 50, 200, 1f, inConfined.apply(a), b, 0f, cc);
                assertArrayEquals(c.toArray(), cc.toArray(), "gemm");
            }
            int[] xShape = {8, 3, 12, 12}, wShape = {6, 3, 3, 3};
            ConvGeometry g = ConvGeometry.of(xShape, wShape, 1, 1);
            try (Tensor x = Tensor.randn(rng, 1f, xShape); Tensor w = Tensor.randn(rng, 0.3f, wShape); Tensor b = Tensor.randn(rng, 1f, 6);
                 Tensor out = Tensor.zeros(g.outputShape()); Tensor dout = Tensor.randn(rng, 1f, g.outputShape());
                 Tensor dx = Tensor.zeros(xShape); Tensor dw = Tensor.zeros(wShape); Tensor db = Tensor.zeros(6)) {
                Conv2dOp conv = ops.conv2d(g);
                conv.forward(x, w, b, out);
                conv.backward(x, w, dout, dx, dw, db);
                Tensor cx = inConfined.apply(x), cout = inConfined.apply(out), cdout = inConfined.apply(dout), cdx = inConfined.apply(dx);
                Tensor cdw = inConfined.apply(dw), cdb = inConfined.apply(db);
                cout.fill(0f);
                cdx.fill(0f);
                conv.forward(cx, w, b, cout);
                conv.backward(cx, w, cdout, cdx, cdw, cdb);
                assertArrayEquals(out.toArray(), cout.toArray(), "conv forward");
                assertArrayEquals(dx.toArray(), cdx.toArray(), "conv dx");
                assertArrayEquals(dw.toArray(), cdw.toArray(), "conv dw");
                assertArrayEquals(db.toArray(), cdb.toArray(), "conv db");
                conv.close();

                PoolGeometry p = PoolGeometry.of(g.outputShape(), 2, 2);
                try (Tensor pooled = Tensor.zeros(p.outputShape()); Tensor dp = Tensor.randn(rng, 1f, p.outputShape());
                     Tensor dc = Tensor.zeros(g.outputShape())) {
                    Pool2dOp pool = ops.pool2d(p, true);
                    pool.forward(out, pooled, true);
                    pool.backward(out, dp, dc);
                    Tensor cpooled = inConfined.apply(pooled), cdc = inConfined.apply(dc);
                    cpooled.fill(0f);
                    cdc.fill(0f);
                    pool.forward(cout, cpooled, true);
                    pool.backward(cout, inConfined.apply(dp), cdc);
                    assertArrayEquals(pooled.toArray(), cpooled.toArray(), "pool forward");
                    assertArrayEquals(dc.toArray(), cdc.toArray(), "pool backward");
                    pool.close();
                }

                // batch norm over (N, C, H, W): the general loops, split over the channels
                int[] s = g.outputShape();
                BatchNormOp bn = ops.batchNorm(s[0], s[1], s[2] * s[3], 1e-5f);
                try (Tensor gamma = Tensor.randn(rng, 1f, 6); Tensor beta = Tensor.randn(rng, 1f, 6);
                     Tensor y = Tensor.zeros(s); Tensor rm = Tensor.zeros(6); Tensor rv = Tensor.full(1f, 6);
                     Tensor bdx = Tensor.zeros(s); Tensor dg = Tensor.zeros(6); Tensor dbeta = Tensor.zeros(6)) {
                    bn.forward(out, gamma, beta, y, rm, rv, 0.9f, true);
                    bn.backward(out, gamma, dout, bdx, dg, dbeta);
                    Tensor cy = inConfined.apply(y), cbdx = inConfined.apply(bdx), cdg = inConfined.apply(dg), cdbeta = inConfined.apply(dbeta);
                    cy.fill(0f);
                    cbdx.fill(0f);
                    Tensor crm = inConfined.apply(rm), crv = inConfined.apply(rv);
                    crm.fill(0f);
                    crv.fill(1f);
                    bn.forward(cout, inConfined.apply(gamma), inConfined.apply(beta), cy, crm, crv, 0.9f, true);
                    bn.backward(cout, inConfined.apply(gamma), cdout, cbdx, cdg, cdbeta);
                    assertArrayEquals(y.toArray(), cy.toArray(), "batch norm forward");
                    assertArrayEquals(bdx.toArray(), cbdx.toArray(), "batch norm dx");
                    assertArrayEquals(dg.toArray(), cdg.toArray(), "batch norm dgamma");
                    assertArrayEquals(dbeta.toArray(), cdbeta.toArray(), "batch norm dbeta");
                } finally {
                    bn.close();
                }
            }
        }
    }
}
