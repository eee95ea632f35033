package dev.panamann.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.data.Dataset;
import dev.panamann.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

class EvaluationTest {

    @Test
    void argmaxTakesTheFirstLargestScoreOfEachRow() {
        try (Tensor s = Tensor.of(new float[] {
                1, 3, 3, 0,      // tie: the first
                -5, -4, -9, -4.5f,
                Float.NaN, 1, 2, 0,
                7, 7, 7, 7}, 4, 4)) {
            int[] dst = {-1, -1, -1, -1, -1, -1};
            Evaluation.argmaxRows(s, 4, dst, 1);
            assertArrayEquals(new int[] {-1, 1, 1, 0, 0, -1}, dst, "NaN in column 0 stays the max: no score beats it");
            assertThrows(IndexOutOfBoundsException.class, () -> Evaluation.argmaxRows(s, 4, new int[3], 0));
            assertThrows(IllegalArgumentException.class, () -> Evaluation.argmaxRows(s, 5, new int[9], 0));
        }
        try (Tensor s = Tensor.zeros(2, 3, 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Evaluation.argmaxRows(s, 2, new int[2], 0));
            assertTrue(e.getMessage().contains("[2, 3, 1]"), e.getMessage());
        }
    }

    /** ProbeModel predicts floor(x[i, 0]) mod C; batches of 3 do not divide 10. */
    @Test
    void predictAndAccuracyInBatchesThatDoNotDivideN() {
        int n = 10, c = 4;
        try (Tensor x = Tensor.zeros(n, 2); ProbeModel m = new ProbeModel(c)) {
            int[] y = new int[n], expected = new int[n];
            for (int i = 0; i < n; i++) {
                x.set(i % c, i, 0);
                expected[i] = i % c;
                y[i] = i < 7 ? i % c : (i + 1) % c; // 7 of 10 right
            }
            Dataset d = new Dataset(x, y);
            for (int batch : new int[] {1, 3, 10, 64}) {
                assertArrayEquals(expected, Evaluation.predict(m, d, batch), "batch " + batch);
                assertEquals(0.7, Evaluation.accuracy(m, d, batch), 1e-12);
            }
            assertThrows(IllegalArgumentException.class, () -> Evaluation.predict(m, d, 0));
        }
    }

    @Test
    void accuracyAndPerClassCounts() {
        int[] y = {0, 0, 1, 1, 1, 2};
        int[] p = {0, 1, 1, 1, 0, 0};
        assertEquals(3.0 / 6, Evaluation.accuracy(p, y), 1e-12);
        assertTrue(Double.isNaN(Evaluation.accuracy(new int[0], new int[0])));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Evaluation.accuracy(new int[2], new int[3]));
        assertTrue(e.getMessage().contains("2 predictions for 3 labels"), e.getMessage());

        Evaluation.PerClass pc = Evaluation.perClass(p, y, 4);
        assertArrayEquals(new int[] {1, 2, 0, 0}, pc.correct());
        assertArrayEquals(new int[] {2, 3, 1, 0}, pc.total());
        assertEquals(0.5, pc.accuracy(0), 1e-12);
        assertEquals(2.0 / 3, pc.accuracy(1), 1e-12);
        assertEquals(0.0, pc.accuracy(2));
        assertTrue(Double.isNaN(pc.accuracy(3)), "a class without examples");
        String table = pc.table(List.of("cat", "dog", "bird", "horse"));
        String[] lines = table.split("\n");
        assertEquals(5, lines.length, table);
        assertTrue(lines[0].matches("class\\s+correct/total\\s+accuracy"), lines[0]);
        assertTrue(lines[2].matches("dog\\s+2/3\\s+66\\.67%"), lines[2]);
        assertTrue(lines[4].matches("horse\\s+0/0\\s+-"), lines[4]);
        assertThrows(IllegalArgumentException.class, () -> pc.table(List.of("cat")));
        e = assertThrows(IllegalArgumentException.class, () -> Evaluation.perClass(new int[] {0}, new int[] {4}, 4));
        assertTrue(e.getMessage().contains("label 0 is 4"), e.getMessage());
    }
}
