from models import User


def to_dict(user):
    return {'name': user.name, 'email': user.email, 'age': user.age}


def from_dict(data):
    return User(name=data['name'], email=data['email'], age=data.get('age', 0))
