package dev.panamann.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.ops.Backends;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Gradients;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every model's gradients live in one contiguous buffer, in params() order. */
class GradientBufferTest {
    private final Ops ops = Backends.get();

    /** Each grad is the next stretch of model.gradients(), and the buffer holds exactly them. */
    private static void assertPacked(Model m) {
        Tensor g = m.gradients();
        long base = g.segment().address(), offset = 0;
        for (Param p : m.params()) {
            MemorySegment s = p.grad().segment();
            assertEquals(base + offset * Float.BYTES, s.address(), p.name() + " is not where the buffer says");
            assertEquals(p.value().size(), p.grad().size(), p.name());
            offset += p.grad().size();
        }
        assertEquals(offset, g.size());
    }

    @Test
    void everyModelKeepsItsGradientsInOneBufferThatBackwardFills() {
        try (TwoLayerNet two = new TwoLayerNet(ops, 12, 7, 3, 1e-1f, 0.1f, 1);
             ThreeLayerConvNet conv = new ThreeLayerConvNet(ops, new int[] {3, 8, 8}, 4, 3, 6, 5, 1e-1f, 0.1f, 2);
             FullyConnectedNet fc = new FullyConnectedNet(ops, new int[] {6, 5}, 12, 3,
                     FullyConnectedNet.Options.DEFAULT.withBatchNorm(true).withDropout(0.5f));
             MnistCnn mnist = new MnistCnn(ops, 8, 2, 3, 10, 0.5f, 0f, 3)) {
            for (Model m : List.<Model>of(two, conv, fc, mnist)) assertPacked(m);

            Tensor x = Tensor.randn(new Rng(5), 1f, 4, 3, 8, 8);
            conv.loss(x, new int[] {0, 1, 2, 4});
            double sumGrads = 0, sumBuffer = 0;
            for (Param p : conv.params()) for (long i = 0; i < p.grad().size(); i++) sumGrads += Math.abs(p.grad().getFlat(i));
            Tensor g = conv.gradients();
            for (long i = 0; i < g.size(); i++) sumBuffer += Math.abs(g.getFlat(i));
            assertTrue(sumGrads > 0);
            assertEquals(sumGrads, sumBuffer, 0.0, "the buffer is the gradients");
            // writing the buffer is writing the gradients (what an all-reduce does)
            g.fill(2f);
            for (Param p : conv.params()) assertEquals(2f, p.grad().getFlat(p.grad().size() - 1));
            x.close();
        }
    }

    @Test
    void packingKeepsValuesSharesAliasesAndClosingFreesTheGradients() {
        Param a = new Param("a", Tensor.full(1f, 2, 3), true);
        Param b = new Param("b", Tensor.full(1f, 4), false);
        Param alias = a.withName("a1");
        a.grad().fill(3f);
        b.grad().fill(4f);
        Tensor first = Gradients.pack(List.of(a, b, alias));
        assertEquals(10, first.size(), "an alias is packed once");
        assertEquals(3f, first.getFlat(5));
        assertEquals(4f, first.getFlat(6));
        assertEquals(a.grad().segment().address(), alias.grad().segment().address());
        Tensor second = Gradients.pack(List.of(b, a)); // repacking moves them again
        first.close();
        assertEquals(4f, second.getFlat(0));
        assertEquals(3f, second.getFlat(9));
        assertEquals(3f, alias.grad().getFlat(0));
        second.close();
        assertThrows(IllegalStateException.class, () -> a.grad().getFlat(0));
        a.close();
        b.close();
    }

    @Test
    void aModelWithoutABufferSaysSo() {
        Model plain = new Model() {
            @Override public Tensor scores(Tensor x) { return x; }
            @Override public float loss(Tensor x, int[] y) { return 0; }
            @Override public List<Param> params() { return List.of(); }
            @Override public int numClasses() { return 1; }
            @Override public void close() {}
        };
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, plain::gradients);
        assertTrue(e.getMessage().contains("one buffer"), e.getMessage());
    }
}
