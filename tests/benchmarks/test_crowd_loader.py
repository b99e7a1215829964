"""benchmarks/crowd.py reads any dataset in the two formats of ../shared/data/crowd, with
the columns named as either format names them, and puts answers in time order."""

from benchmarks.crowd import load


def test_crowdtruth_csv_with_times_and_content(tmp_path) -> None:
    path = tmp_path / "sentiment.standardized.csv"
    path.write_text(
        "_id,_worker_id,_unit_id,response,gold,start,end,sentence\n"
        "1,w2,u1,pos,pos,2020-01-01T10:00:05,2020-01-01T10:00:09,I love it\n"
        "2,w1,u1,neg,pos,2020-01-01T10:00:00,2020-01-01T10:00:02,I love it\n"
        "3,w1,u2,neg,neg,Mon Mar 25 07:39:42 PDT 2019,Mon Mar 25 07:39:44 PDT 2019,Awful\n",
        encoding="utf-8",
    )
    ds = load(path)
    assert ds.labels == ["neg", "pos"]
    assert ds.items == {"u1": {"sentence": "I love it"}, "u2": {"sentence": "Awful"}}
    assert ds.truth == {"u1": "pos", "u2": "neg"}
    assert ds.timed
    # 2019 first, then the two 2020 answers by start time.
    assert [(a.item, a.worker) for a in ds.answers] == [("u2", "w1"), ("u1", "w1"), ("u1", "w2")]
    assert [a.duration_ms for a in ds.answers] == [2000, 2000, 4000]


def test_answer_and_truth_files_in_file_order(tmp_path) -> None:
    (tmp_path / "answer.csv").write_text(
        "question,worker,answer\nq1,7,b\nq2,7,a\nq1,8,b\n", encoding="utf-8"
    )
    (tmp_path / "truth.csv").write_text("question,truth\nq1,b\n", encoding="utf-8")
    for path in (tmp_path, tmp_path / "answer.csv"):
        ds = load(path)
        assert ds.labels == ["a", "b"]
        assert [a.item for a in ds.answers] == ["q1", "q2", "q1"]
        assert ds.truth == {"q1": "b"}
        assert not ds.timed
        assert ds.items["q2"] == {"item": "q2"}


def test_answers_without_truth_file(tmp_path) -> None:
    (tmp_path / "answer.csv").write_text("task,performer,label\nt,p,1\nt,q,2\n", encoding="utf-8")
    ds = load(tmp_path)
    assert ds.truth == {}
    assert ds.labels == ["1", "2"]
