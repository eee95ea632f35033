package dev.panamann.ops.dnnl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.ops.ConvGeometry;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.StorageOrder;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * How the conv-relu-pool plan's ports take weights held in each kind of order: in the plan's own
 * (the forward reads them and backward weights writes dW with no reorder; backward data, whose
 * layout may differ, reorders from that order), row-major (reordered as always) and an unrelated
 * one (through a row-major copy). Over the whole batch and in tiles.
 */
class WeightPortsTest {

    @ParameterizedTest(name = "images per tile {0}")
    @ValueSource(ints = {0, 2})
    void weightsInThePlansOrderAreReadAndWrittenDirectly(int tile) {
        NativeOps nat = (NativeOps) Backs.nativeOps();
        int threads = nat.threads();
        nat.setThreads(1); // tiles run with one thread whatever the OpenMP wait policy
        ConvGeometry g = new ConvGeometry(4, 16, 8, 8, 32, 3, 3, 1, 1); // 16 -> 32 channels, with an input gradient
        Rng rng = new Rng(3);
        try (DnnlConvReluPoolOp op = new DnnlConvReluPoolOp(nat, g, 2, 2, tile);
             Param w = new Param("W", Tensor.randn(rng, 0.1f, g.weightShape()), true);
             Tensor x = Tensor.randn(rng, 1f, g.inputShape()); Tensor b = Tensor.zeros(g.f());
             Tensor out = Tensor.zeros(op.pool().outputShape()); Tensor dout = Tensor.randn(rng, 1f, op.pool().outputShape());
             Tensor dx = Tensor.zeros(g.inputShape()); Tensor db = Tensor.zeros(g.f())) {
            assertEquals(tile != 0, op.tiled(), "tiled");
            StorageOrder own = op.weightOrder();
            assertNotNull(own, "oneDNN's weight layout on x86 is blocked and the same for forward and backward weights");

            run(op, w, x, b, out, dout, dx, db);
            assertEquals("forward w row-major, dW row-major, backward-data w row-major", op.weightModes());

            w.preferOrder(own);
            w.adoptPreferredOrder();
            run(op, w, x, b, out, dout, dx, db);
            String modes = op.weightModes();
            assertTrue(modes.startsWith("forward w direct, dW direct, backward-data w "), modes);
            assertTrue(modes.endsWith(" alternate") || modes.endsWith(" direct"), modes);
            assertEquals(own, w.storageOrder(), "nothing put the weights back in row-major order");

            int n = own.size();
            int[] idx = new int[n];
            for (int i = 0; i < n; i++) idx[i] = n - 1 - i;
            w.preferOrder(new StorageOrder("reversed", g.weightShape(), idx));
            w.adoptPreferredOrder();
            run(op, w, x, b, out, dout, dx, db);
            assertEquals("forward w converted, dW converted, backward-data w converted", op.weightModes());
        } finally {
            nat.setThreads(threads);
        }
    }

    private static void run(DnnlConvReluPoolOp op, Param w, Tensor x, Tensor b, Tensor out, Tensor dout, Tensor dx, Tensor db) {
        op.forward(x, w.value(), b, out, true);
        op.backward(x, w.value(), dout, dx, w.grad(), db);
    }
}
