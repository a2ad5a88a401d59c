from worker.answer.voxlink import v1
from worker.lookup.engine import LookupEngine


def test_small_dataset_answers_the_talks_number(engine: LookupEngine) -> None:
    answer = engine.lookup_now("79170415564")
    assert v1(answer) == {  # type: ignore[arg-type]
        "code": "917",
        "num": "0415564",
        "full_num": "9170415564",
        "operator": "МТС",
        "region": "Республика Башкортостан",
    }
